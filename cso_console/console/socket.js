// The /cso Socket.IO connection: WebSocket only, token auth, and emit() that always
// waits for the server's acknowledgement and turns {ok:false, error} into ApiError.

import { io } from "/vendor/socket.io-client/socket.io.esm.min.js";
import { ApiError } from "/shared/api.js";

const ACK_TIMEOUT_MS = 8000;

export class ConsoleSocket {
  /**
   * handlers: {connect(), disconnect(reason), refused(error), [serverEvent](payload)}.
   * refused is called when the server rejects the token (no automatic retry then).
   */
  constructor(token, handlers) {
    this.handlers = handlers;
    this.socket = io("/cso", {
      auth: { token },
      transports: ["websocket"],
      reconnectionDelay: 250,
      reconnectionDelayMax: 2000,
      timeout: 5000,
    });
    this.socket.on("connect", () => handlers.connect?.());
    this.socket.on("disconnect", (reason) => handlers.disconnect?.(reason));
    this.socket.on("connect_error", (err) => {
      // A refusal by the server's connect handler leaves the socket inactive; a network
      // error keeps it active and the manager retries on its own.
      if (!this.socket.active) {
        const data = err && err.data ? err.data : {};
        const code = data.code || (data.error && data.error.code) || "unauthorized";
        const message = data.message || (data.error && data.error.message) || err.message;
        handlers.refused?.(new ApiError(code, message));
      } else {
        handlers.disconnect?.("connect_error");
      }
    });
    for (const name of [
      "state",
      "offer",
      "offer_withdrawn",
      "session_started",
      "signal",
      "document_ready",
      "session_ended",
    ]) {
      this.socket.on(name, (payload) => handlers[name]?.(payload || {}));
    }
  }

  get connected() {
    return this.socket.connected;
  }

  /** Emits with an acknowledgement; resolves the ack body, rejects with ApiError. */
  async emit(event, payload) {
    if (!this.socket.connected) throw new ApiError("unavailable", "not connected");
    let ack;
    try {
      ack = await this.socket.timeout(ACK_TIMEOUT_MS).emitWithAck(event, payload);
    } catch {
      throw new ApiError("timeout", `no acknowledgement for ${event}`);
    }
    if (!ack || ack.ok !== true) {
      const error = (ack && ack.error) || {};
      throw new ApiError(error.code || "invalid", error.message || "request refused");
    }
    return ack;
  }

  /** Fire-and-forget with an ack we only log (ICE candidates: too many to toast). */
  emitQuiet(event, payload) {
    if (!this.socket.connected) return;
    this.socket.timeout(ACK_TIMEOUT_MS).emit(event, payload, (err, ack) => {
      if (err) console.warn(`${event}: no acknowledgement`);
      else if (!ack || ack.ok !== true) console.warn(`${event} refused`, ack && ack.error);
    });
  }

  close() {
    this.socket.removeAllListeners();
    this.socket.disconnect();
  }
}
