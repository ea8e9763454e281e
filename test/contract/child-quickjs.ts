import { createQuickjsHost } from '../../src/hosts/quickjs/index.ts';
import { runChild } from './child.ts';

runChild(createQuickjsHost());
