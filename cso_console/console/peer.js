// One RTCPeerConnection per session. The booth is always the offerer; the console answers,
// trickles its ICE candidates, and sends its own clone of the microphone track, enabled only
// while the session is focused, so the officer's voice reaches exactly one booth. The camera
// goes only to the focused booth too (replaceTrack), which also saves encoder CPU.

export class SessionPeer {
  /**
   * sessionId, iceServers, local: {micTrack, camTrack}, callbacks:
   * sendSignal(payload), onTrack(kind, track), onState(peer), onFirstFrame?()
   */
  constructor({ sessionId, iceServers, local, sendSignal, onTrack, onState }) {
    this.sessionId = sessionId;
    this.local = local;
    this.sendSignal = sendSignal;
    this.onTrack = onTrack;
    this.onState = onState;
    this.focused = false;
    this.micClone = local.micTrack ? local.micTrack.clone() : null;
    if (this.micClone) this.micClone.enabled = false;
    this.pendingCandidates = [];
    this.closed = false;
    this.createdAt = Date.now();
    this.connectedAt = null;
    this.lastStats = null;
    this.quality = { fps: null, loss: null, rtt: null, framesDecoded: 0, bytesReceived: 0 };
    this.pc = new RTCPeerConnection({ iceServers: iceServers || [] });
    this.pc.addEventListener("icecandidate", (event) => {
      const c = event.candidate;
      this.sendSignal({
        session_id: this.sessionId,
        candidate:
          c && c.candidate
            ? { candidate: c.candidate, sdpMid: c.sdpMid, sdpMLineIndex: c.sdpMLineIndex }
            : null,
      });
    });
    this.pc.addEventListener("track", (event) => this.onTrack(event.track.kind, event.track));
    const changed = () => {
      if (this.pc.connectionState === "connected" && !this.connectedAt) {
        this.connectedAt = Date.now();
      }
      this.onState(this);
    };
    this.pc.addEventListener("connectionstatechange", changed);
    this.pc.addEventListener("iceconnectionstatechange", changed);
    this.pc.addEventListener("signalingstatechange", changed);
  }

  get hasRemoteOffer() {
    return Boolean(this.pc.remoteDescription);
  }

  get connectionState() {
    return this.pc.connectionState;
  }

  /** Applies the booth's offer and sends our answer. */
  async acceptOffer(description) {
    await this.pc.setRemoteDescription(description);
    for (const transceiver of this.pc.getTransceivers()) {
      const kind = transceiver.receiver.track && transceiver.receiver.track.kind;
      if (kind === "audio" && this.micClone) {
        await transceiver.sender.replaceTrack(this.micClone);
        transceiver.direction = "sendrecv";
      } else if (kind === "video" && this.local.camTrack) {
        // The answer intersects this with the offer: a sendonly booth simply gets nothing.
        transceiver.direction = "sendrecv";
        this.videoSender = transceiver.sender;
        await transceiver.sender.replaceTrack(this.focused ? this.local.camTrack : null);
      } else if (transceiver.direction === "sendrecv" || transceiver.direction === "sendonly") {
        transceiver.direction = "recvonly";
      }
    }
    const answer = await this.pc.createAnswer();
    await this.pc.setLocalDescription(answer);
    this.sendSignal({
      session_id: this.sessionId,
      description: { type: this.pc.localDescription.type, sdp: this.pc.localDescription.sdp },
    });
    const queued = this.pendingCandidates.splice(0);
    for (const candidate of queued) await this.addCandidate(candidate);
  }

  /**
   * Offers from the console side. The booth is normally the offerer; this is the fallback
   * when a reloaded console finds a booth whose old connection still looks alive to it and
   * so does not offer again. The booth answers on a fresh connection.
   */
  async makeOffer() {
    this.ownOffer = true;
    const audio = this.pc.addTransceiver("audio", { direction: this.micClone ? "sendrecv" : "recvonly" });
    if (this.micClone) await audio.sender.replaceTrack(this.micClone);
    const video = this.pc.addTransceiver("video", { direction: this.local.camTrack ? "sendrecv" : "recvonly" });
    if (this.local.camTrack) {
      this.videoSender = video.sender;
      await video.sender.replaceTrack(this.focused ? this.local.camTrack : null);
    }
    await this.pc.setLocalDescription(await this.pc.createOffer());
    this.sendSignal({
      session_id: this.sessionId,
      description: { type: this.pc.localDescription.type, sdp: this.pc.localDescription.sdp },
    });
  }

  get awaitingAnswer() {
    return this.pc.signalingState === "have-local-offer";
  }

  async acceptAnswer(description) {
    await this.pc.setRemoteDescription(description);
    const queued = this.pendingCandidates.splice(0);
    for (const candidate of queued) await this.addCandidate(candidate);
  }

  /** A trickled booth candidate; null (or empty) marks the end of its candidates. */
  async addCandidate(candidate) {
    if (!this.pc.remoteDescription) {
      this.pendingCandidates.push(candidate);
      return;
    }
    try {
      if (candidate && candidate.candidate) await this.pc.addIceCandidate(candidate);
      else await this.pc.addIceCandidate();
    } catch (err) {
      console.warn(`session ${this.sessionId}: candidate rejected`, err);
    }
  }

  setFocused(focused) {
    this.focused = focused;
    if (this.micClone) this.micClone.enabled = focused;
    if (this.videoSender && this.local.camTrack) {
      this.videoSender.replaceTrack(focused ? this.local.camTrack : null).catch((err) => {
        console.warn(`session ${this.sessionId}: camera switch failed`, err);
      });
    }
  }

  /** Polls getStats; keeps fps, loss % and RTT ms computed over the last interval. */
  async refreshStats() {
    if (this.closed) return this.quality;
    let report;
    try {
      report = await this.pc.getStats();
    } catch {
      return this.quality;
    }
    let video = null;
    let audio = null;
    let pairRtt = null;
    let remoteRtt = null;
    const pairs = new Map();
    let selectedPairId = null;
    report.forEach((stat) => {
      if (stat.type === "inbound-rtp" && stat.kind === "video") video = stat;
      else if (stat.type === "inbound-rtp" && stat.kind === "audio") audio = stat;
      else if (stat.type === "candidate-pair") pairs.set(stat.id, stat);
      else if (stat.type === "transport" && stat.selectedCandidatePairId) {
        selectedPairId = stat.selectedCandidatePairId;
      } else if (stat.type === "remote-inbound-rtp" && typeof stat.roundTripTime === "number") {
        remoteRtt = stat.roundTripTime;
      }
    });
    const pair =
      (selectedPairId && pairs.get(selectedPairId)) ||
      [...pairs.values()].find((p) => p.nominated && p.state === "succeeded") ||
      [...pairs.values()].find((p) => p.selected);
    if (pair && typeof pair.currentRoundTripTime === "number") pairRtt = pair.currentRoundTripTime;
    const now = performance.now();
    const sample = {
      at: now,
      framesDecoded: video ? video.framesDecoded || 0 : 0,
      packetsReceived: (video ? video.packetsReceived || 0 : 0) + (audio ? audio.packetsReceived || 0 : 0),
      packetsLost: (video ? video.packetsLost || 0 : 0) + (audio ? audio.packetsLost || 0 : 0),
      bytesReceived: (video ? video.bytesReceived || 0 : 0) + (audio ? audio.bytesReceived || 0 : 0),
    };
    const prev = this.lastStats;
    this.lastStats = sample;
    const rttSeconds = pairRtt ?? remoteRtt;
    this.quality = {
      framesDecoded: sample.framesDecoded,
      bytesReceived: sample.bytesReceived,
      frameWidth: video ? video.frameWidth || null : null,
      frameHeight: video ? video.frameHeight || null : null,
      fps: this.quality.fps,
      loss: this.quality.loss,
      rtt: rttSeconds === null ? null : Math.round(rttSeconds * 1000),
    };
    if (prev && now > prev.at) {
      const seconds = (now - prev.at) / 1000;
      this.quality.fps = Math.max(0, (sample.framesDecoded - prev.framesDecoded) / seconds);
      const received = sample.packetsReceived - prev.packetsReceived;
      const lost = Math.max(0, sample.packetsLost - prev.packetsLost);
      this.quality.loss = received + lost > 0 ? (100 * lost) / (received + lost) : 0;
    }
    return this.quality;
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    try {
      this.pc.close();
    } catch {
      // already closed
    }
    if (this.micClone) this.micClone.stop();
  }
}
