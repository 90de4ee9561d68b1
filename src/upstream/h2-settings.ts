import { DEFAULT_WINDOW, STREAM_WINDOW } from "./h2-flow.ts";
import { H2_ERROR, H2ConnectionError, MAX_FRAME_PAYLOAD, MAX_WINDOW, parseSettings, SETTING, settingsFrame } from "./h2-frames.ts";
import { MAX_HEADER_LIST } from "./h2-header-block.ts";

/** Our SETTINGS, sent once after the preface: no push, our stream window, our header-list limit. */
export function ourSettings(): Uint8Array {
  return settingsFrame([
    [SETTING.ENABLE_PUSH, 0],
    [SETTING.INITIAL_WINDOW_SIZE, STREAM_WINDOW],
    [SETTING.MAX_HEADER_LIST_SIZE, MAX_HEADER_LIST],
  ]);
}

/**
 * What the peer's SETTINGS said so far (RFC 9113 §6.5.2), the protocol's defaults until then.
 * A value out of its range is a connection error.
 */
export class PeerSettings {
  #initialWindow = DEFAULT_WINDOW;
  #maxFrame = MAX_FRAME_PAYLOAD;
  #maxStreams = Number.POSITIVE_INFINITY;

  /** The send window a new stream starts with. */
  get initialWindow(): number {
    return this.#initialWindow;
  }

  /** The largest frame payload the peer takes (our HEADERS are cut to it). */
  get maxFrame(): number {
    return this.#maxFrame;
  }

  /** Streams the peer lets us have open at once; more wait. */
  get maxStreams(): number {
    return this.#maxStreams;
  }

  /**
   * Applies a SETTINGS frame's payload in order. A change of the initial window applies to
   * every open stream's send window too (RFC 9113 §6.9.2): `windowsChanged` gets each delta.
   */
  apply(payload: Uint8Array, windowsChanged: (delta: number) => void): void {
    for (const [id, value] of parseSettings(payload)) {
      if (id === SETTING.INITIAL_WINDOW_SIZE) {
        if (value > MAX_WINDOW) throw new H2ConnectionError(H2_ERROR.FLOW_CONTROL_ERROR, "SETTINGS_INITIAL_WINDOW_SIZE above 2^31-1");
        const delta = value - this.#initialWindow;
        this.#initialWindow = value;
        windowsChanged(delta);
      } else if (id === SETTING.MAX_FRAME_SIZE) {
        if (value < 16_384 || value > 16_777_215) throw new H2ConnectionError(H2_ERROR.PROTOCOL_ERROR, "SETTINGS_MAX_FRAME_SIZE out of range");
        this.#maxFrame = value;
      } else if (id === SETTING.MAX_CONCURRENT_STREAMS) this.#maxStreams = value;
      else if (id === SETTING.ENABLE_PUSH && value > 1) throw new H2ConnectionError(H2_ERROR.PROTOCOL_ERROR, "SETTINGS_ENABLE_PUSH not 0 or 1");
      // HEADER_TABLE_SIZE limits the peer's decoder of our blocks; ours never use the dynamic table.
    }
  }
}
