// Why each tile needs the officer, and which booth to serve next. Pure functions over the
// session list and `now`, so the ordering is easy to reason about and to test.

export const DEFAULT_UNFOCUSED_ALERT_S = 90;

/**
 * sessions: [{id, focused, startedAt, lastFocusAt, everFocused, pendingDocuments}]
 * Returns {bySession: Map(id → {reasons: [{code, since}], overdue, unfocusedS}), next: id|null}
 */
export function assess(sessions, now, unfocusedAlertS = DEFAULT_UNFOCUSED_ALERT_S) {
  const bySession = new Map();
  const candidates = [];
  let longest = null;
  for (const s of sessions) {
    const reasons = [];
    const unfocusedSince = s.focused ? null : s.lastFocusAt ?? s.startedAt;
    const unfocusedS = unfocusedSince === null ? 0 : Math.max(0, (now - unfocusedSince) / 1000);
    if (!s.everFocused && !s.focused) reasons.push({ code: "new", since: s.startedAt });
    if (s.pendingDocuments > 0) reasons.push({ code: "document", since: s.oldestDocumentAt });
    const overdue = !s.focused && unfocusedS >= unfocusedAlertS;
    bySession.set(s.id, { reasons, overdue, unfocusedS });
    if (!s.focused) {
      if (!longest || unfocusedS > longest.unfocusedS) longest = { id: s.id, unfocusedS };
      candidates.push({ session: s, unfocusedS, overdue, reasons });
    }
  }
  // With two or more waiting booths, the one waiting longest is worth saying out loud.
  if (longest && candidates.length >= 2 && longest.unfocusedS >= 1) {
    bySession.get(longest.id).reasons.push({ code: "waiting", seconds: longest.unfocusedS });
  }
  const rank = (c) => {
    // Overdue first (a participant left alone too long), then documents the participant is
    // waiting on, then greeting newcomers, then whoever waited longest.
    if (c.overdue) return 0;
    if (c.reasons.some((r) => r.code === "document")) return 1;
    if (c.reasons.some((r) => r.code === "new")) return 2;
    return 3;
  };
  candidates.sort((a, b) => rank(a) - rank(b) || b.unfocusedS - a.unfocusedS);
  const next = candidates.length && (rank(candidates[0]) < 3 || candidates[0].unfocusedS >= 1)
    ? candidates[0].session.id
    : null;
  return { bySession, next };
}
