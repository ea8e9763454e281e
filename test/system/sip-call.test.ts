/** A SIP call end to end through the built-in SIP proxy (the suite: support/sip-call-suite.ts). */
import { builtInProxy } from './support/sip-proxies.ts';
import { sipCallSuite } from './support/sip-call-suite.ts';

sipCallSuite(builtInProxy());
