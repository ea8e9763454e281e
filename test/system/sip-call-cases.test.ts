/** SIP call cases through the built-in proxy (the suite: support/sip-cases-suite.ts), all of them. */
import { builtInProxy } from './support/sip-proxies.ts';
import { sipCases } from './support/sip-cases-suite.ts';

sipCases(builtInProxy(['--dialog-timeout-s', '10']), ['audio-video-reinvite', 'cancel', 'forged-token', 'lost-bye']);
