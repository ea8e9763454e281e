import { createNodeHost } from '../../src/hosts/node/index.ts';
import { runChild } from './child.ts';

runChild(createNodeHost());
