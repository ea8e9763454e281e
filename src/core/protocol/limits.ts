/**
 * The bounds of the protocol's free texts and of the values a sender computes, in one place: the
 * message schemas are written with these, and every sender that builds such a text cuts it to
 * the same bound (core/text/bounded.ts), so a text can never be what makes a message fail to
 * build. Lengths count UTF-16 code units, as the schemas do.
 */

/**
 * Why, for people: `session.state` reason (call and line), `auth.response` reason,
 * `usage.confirmation` error, `report.failure` and `result` messages, `close` text.
 */
export const REASON_MAX = 256;
/** How a call ended, as call control says it: `session.delete` reason, `usage.indication` termination reason. */
export const RELEASE_REASON_MAX = 128;
/** A call id (SIP Call-ID) or session reference. */
export const SESSION_REF_MAX = 256;
/** A party's identity: a SIP or tel URI, or a number. */
export const PARTY_MAX = 256;
/** The clearinghouse's token. */
export const TOKEN_MAX = 4096;
/** An rtpmap encoding name. */
export const CODEC_NAME_MAX = 32;
/** A router's board as `open` describes it: model, board name and release; the target is shorter. */
export const BOARD_TEXT_MAX = 128;
export const BOARD_TARGET_MAX = 64;
/** The largest rate one gate admits, in kbit/s at the IP layer. */
export const GATE_RATE_MAX_KBPS = 100000;
