export { utf8ByteLength, utf8Decode, utf8Encode } from './utf8.ts';
export { DEFAULT_MAX_LINE_BYTES, LineSplitter } from './line-splitter.ts';
export type { LineSplitterOptions } from './line-splitter.ts';
export { CUT_MARK, bounded, codedText, wellFormed } from './bounded.ts';
