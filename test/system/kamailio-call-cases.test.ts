/**
 * SIP call cases through Kamailio with deploy/kamailio/callqos.cfg (the suite:
 * support/sip-cases-suite.ts): audio and video with a re-INVITE, and CANCEL. The configuration
 * passes no token a caller presents and keeps dialogs for two hours, so the forged-token and
 * lost-BYE cases are the built-in proxy's.
 */
import { kamailio } from './support/sip-proxies.ts';
import { sipCases } from './support/sip-cases-suite.ts';

sipCases(kamailio(), ['audio-video-reinvite', 'cancel']);
