/**
 * SIP call cases through Kamailio with deploy/kamailio/callqos.cfg (the suite:
 * support/sip-cases-suite.ts): audio and video with a re-INVITE, CANCEL, a caller presenting a
 * forged token, and a lost BYE (Kamailio started with dialogs lasting 10 s).
 */
import { kamailio } from './support/sip-proxies.ts';
import { sipCases } from './support/sip-cases-suite.ts';

sipCases(kamailio(), ['audio-video-reinvite', 'cancel', 'forged-token', 'lost-bye']);
