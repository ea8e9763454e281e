/**
 * A SIP call end to end through Kamailio from Debian, configured by deploy/kamailio/callqos.cfg to
 * feed the session API over HTTP (the suite: support/sip-call-suite.ts).
 */
import { kamailio } from './support/sip-proxies.ts';
import { sipCallSuite } from './support/sip-call-suite.ts';

sipCallSuite(kamailio());
