/** A handler's answer that is not JSON (a CSV download): app.ts sends its body with its type and file name. */
export class RawReply {
  constructor(
    readonly contentType: string,
    readonly filename: string,
    readonly body: string,
  ) {}

  /** `attachment; filename="…"`: the name is built by the server from safe characters only. */
  get disposition(): string {
    return `attachment; filename="${this.filename.replace(/[^A-Za-z0-9._-]/g, '_')}"`;
  }
}
