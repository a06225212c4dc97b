// The officer's own camera and microphone, opened once per page. Each session clones the
// microphone track (see peer.js); the original stays disabled-free and only feeds clones.

export async function openLocalMedia() {
  const result = { stream: null, micTrack: null, camTrack: null, error: null };
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    result.error = new Error("getUserMedia unavailable (needs https or localhost)");
    return result;
  }
  const audio = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };
  const video = { width: { ideal: 640 }, height: { ideal: 480 }, frameRate: { ideal: 15 } };
  const attempts = [{ audio, video }, { audio }, { video }];
  for (const constraints of attempts) {
    try {
      const stream = await navigator.mediaDevices.getUserMedia(constraints);
      result.stream = stream;
      result.micTrack = stream.getAudioTracks()[0] || null;
      result.camTrack = stream.getVideoTracks()[0] || null;
      return result;
    } catch (err) {
      result.error = err;
    }
  }
  return result;
}

/** A short two-tone chime made with WebAudio (no sound file to ship). */
export class Chime {
  constructor() {
    this.context = null;
  }

  /** Call from a user gesture so the browser lets the context run. */
  unlock() {
    try {
      if (!this.context) this.context = new AudioContext();
      if (this.context.state === "suspended") this.context.resume().catch(() => {});
    } catch {
      this.context = null;
    }
  }

  play() {
    this.unlock();
    const ctx = this.context;
    if (!ctx) return false;
    const start = ctx.currentTime + 0.01;
    for (const [offset, frequency] of [
      [0, 880],
      [0.18, 1175],
    ]) {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.type = "sine";
      osc.frequency.value = frequency;
      gain.gain.setValueAtTime(0.0001, start + offset);
      gain.gain.exponentialRampToValueAtTime(0.25, start + offset + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, start + offset + 0.16);
      osc.connect(gain).connect(ctx.destination);
      osc.start(start + offset);
      osc.stop(start + offset + 0.18);
    }
    return ctx.state === "running";
  }
}
