// UI text in Indonesian (default) and English. Pages mark static text with
// data-i18n="key" (text), data-i18n-title / data-i18n-placeholder / data-i18n-aria
// (attributes); dynamic text calls t(key, params). Dictionaries are per page family so
// the ops dashboard can add its own with extend().

const STORAGE_KEY = "lapak.lang";
export const LANGUAGES = ["id", "en"];

const dictionaries = {
  id: {
    "app.title": "LAPAK ASIK — Konsol Petugas",
    "app.brand": "LAPAK ASIK",
    "app.subtitle": "Layanan Tanpa Kontak — Konsol Petugas",
    "lang.switch": "Bahasa",
    "login.title": "Masuk petugas",
    "login.username": "Nama pengguna",
    "login.password": "Kata sandi",
    "login.submit": "Masuk",
    "login.busy": "Sedang masuk…",
    "login.failed": "Gagal masuk: {message}",
    "login.wrong_role": "Akun ini bukan akun petugas layanan (peran: {role}).",
    "login.expired": "Sesi masuk berakhir, silakan masuk kembali.",
    "logout": "Keluar",
    "logout.confirm": "Keluar dari konsol? Sesi yang berjalan akan dialihkan setelah masa tenggang.",
    "conn.connecting": "Menyambung…",
    "conn.online": "Terhubung",
    "conn.offline": "Terputus — menyambung ulang…",
    "status.label": "Status",
    "status.available": "Tersedia",
    "status.paused": "Jeda",
    "status.not_responding": "Tidak merespons",
    "status.offline": "Luring",
    "load.label": "Beban",
    "autoaccept.label": "Terima otomatis",
    "offers.title": "Panggilan masuk",
    "offers.none": "Tidak ada panggilan",
    "offer.kind.individual": "Perorangan",
    "offer.kind.collective": "Kolektif",
    "offer.accept": "Terima",
    "offer.decline": "Tolak",
    "offer.expires": "{s} dtk",
    "offer.withdrawn": "Panggilan {booth} dibatalkan ({reason})",
    "offer.new": "Panggilan baru dari {booth}",
    "preview.title": "Kamera saya",
    "preview.none": "Kamera tidak tersedia",
    "preview.mic_none": "Mikrofon tidak tersedia: {message}",
    "next.title": "Berikutnya",
    "next.none": "Semua peserta sudah tertangani",
    "next.go": "Fokus (N)",
    "keys.title": "Pintasan",
    "keys.help": "1–6 fokus bilik · N berikutnya · 0 lepas fokus · Esc tutup",
    "slot.empty": "Slot kosong",
    "slot.waiting": "Menunggu peserta dari antrean",
    "slot.paused": "Status jeda — tidak menerima peserta",
    "tile.ticket": "Tiket {ticket}",
    "tile.no_ticket": "Tanpa tiket",
    "tile.focused": "FOKUS",
    "tile.muted": "Bisu",
    "tile.focus_hint": "Klik untuk fokus",
    "tile.state.waiting_offer": "Menunggu sambungan bilik…",
    "tile.state.connecting": "Menyambungkan video…",
    "tile.state.connected": "Terhubung",
    "tile.state.disconnected": "Sambungan terganggu…",
    "tile.state.failed": "Sambungan gagal — menunggu bilik",
    "tile.state.closed": "Ditutup",
    "tile.quality.good": "Baik",
    "tile.quality.fair": "Sedang",
    "tile.quality.poor": "Buruk",
    "tile.quality.unknown": "—",
    "tile.fps": "{fps} fps",
    "tile.loss": "hilang {loss}%",
    "tile.rtt": "RTT {rtt} ms",
    "tile.request": "Minta dokumen",
    "tile.request.go": "Minta",
    "tile.complete": "Selesai",
    "tile.transfer": "Alihkan",
    "tile.documents": "Dokumen",
    "tile.requested": "Diminta: {kind}",
    "attention.new": "Peserta baru — sapa",
    "attention.document": "Dokumen siap diperiksa",
    "attention.waiting": "Menunggu terlama ({time})",
    "attention.overdue": "Belum difokuskan {time}",
    "doc.kind.ktp": "KTP",
    "doc.kind.kpj": "Kartu KPJ",
    "doc.kind.kk": "Kartu Keluarga",
    "doc.kind.paklaring": "Paklaring",
    "doc.kind.bank_book": "Buku tabungan",
    "doc.kind.npwp": "NPWP",
    "doc.kind.other": "Lainnya",
    "doc.status.pending": "Perlu diperiksa",
    "doc.status.approved": "Disetujui",
    "doc.status.rejected": "Ditolak",
    "doc.ready": "{kind} dari {booth} siap diperiksa",
    "doc.requested": "{kind} diminta dari {booth}",
    "doc.viewer.title": "{kind} — {booth}",
    "doc.viewer.zoom_in": "Perbesar",
    "doc.viewer.zoom_out": "Perkecil",
    "doc.viewer.rotate": "Putar",
    "doc.viewer.fit": "Sesuaikan",
    "doc.viewer.full": "Resolusi penuh",
    "doc.viewer.quality": "Kualitas",
    "doc.viewer.size": "{w}×{h} px",
    "doc.quality.sharpness": "Ketajaman",
    "doc.quality.brightness": "Kecerahan",
    "doc.quality.glare_share": "Porsi silau",
    "doc.approve": "Setujui",
    "doc.reject": "Tolak",
    "doc.reject.reason": "Alasan penolakan",
    "doc.reject.go": "Tolak & minta ulang",
    "doc.reason.blurry": "Buram",
    "doc.reason.glare": "Silau / pantulan",
    "doc.reason.cut_off": "Terpotong",
    "doc.reason.wrong_document": "Dokumen salah",
    "doc.reason.unreadable": "Tidak terbaca",
    "doc.reason.data_mismatch": "Data tidak sesuai",
    "doc.load_failed": "Gagal memuat dokumen: {message}",
    "doc.reviewed.approved": "{kind} disetujui",
    "doc.reviewed.rejected": "{kind} ditolak — peserta diminta memotret ulang",
    "complete.title": "Selesaikan sesi — {booth}",
    "complete.outcome": "Hasil",
    "complete.note": "Catatan (opsional)",
    "complete.go": "Selesaikan",
    "outcome.claim_submitted": "Klaim diajukan",
    "outcome.incomplete_documents": "Dokumen belum lengkap",
    "outcome.referred": "Dirujuk",
    "outcome.other": "Lainnya",
    "transfer.title": "Alihkan sesi — {booth}",
    "transfer.target": "Petugas tujuan",
    "transfer.queue": "Kembalikan ke antrean (petugas mana pun)",
    "transfer.officer": "{name} — {status}, {load}/{capacity}",
    "transfer.go": "Alihkan",
    "cancel": "Batal",
    "close": "Tutup",
    "session.ended": "Sesi {booth} berakhir ({reason})",
    "session.started": "Sesi {booth} dimulai",
    "session.completed": "Sesi {booth} selesai",
    "session.transferred": "Sesi {booth} dialihkan",
    "focus.now": "Fokus: {booth}",
    "focus.none": "Tidak ada bilik difokuskan",
    "audio.blocked": "Browser menahan suara. Klik di mana saja untuk mengaktifkan audio.",
    "error.ack": "{event} gagal: {message}",
    "error.timeout": "Server tidak menjawab ({event})",
    "error.generic": "Terjadi kesalahan: {message}",
    "error.disconnected": "Tidak terhubung ke server",
  },
  en: {
    "app.title": "LAPAK ASIK — Officer Console",
    "app.brand": "LAPAK ASIK",
    "app.subtitle": "Contactless Service — Officer Console",
    "lang.switch": "Language",
    "login.title": "Officer sign-in",
    "login.username": "Username",
    "login.password": "Password",
    "login.submit": "Sign in",
    "login.busy": "Signing in…",
    "login.failed": "Sign-in failed: {message}",
    "login.wrong_role": "This account is not a service officer account (role: {role}).",
    "login.expired": "Your sign-in expired, please sign in again.",
    "logout": "Sign out",
    "logout.confirm": "Sign out of the console? Running sessions will be requeued after the grace period.",
    "conn.connecting": "Connecting…",
    "conn.online": "Connected",
    "conn.offline": "Disconnected — reconnecting…",
    "status.label": "Status",
    "status.available": "Available",
    "status.paused": "Paused",
    "status.not_responding": "Not responding",
    "status.offline": "Offline",
    "load.label": "Load",
    "autoaccept.label": "Auto-accept",
    "offers.title": "Incoming",
    "offers.none": "No incoming booths",
    "offer.kind.individual": "Individual",
    "offer.kind.collective": "Collective",
    "offer.accept": "Accept",
    "offer.decline": "Decline",
    "offer.expires": "{s} s",
    "offer.withdrawn": "Offer from {booth} withdrawn ({reason})",
    "offer.new": "New booth: {booth}",
    "preview.title": "My camera",
    "preview.none": "Camera unavailable",
    "preview.mic_none": "Microphone unavailable: {message}",
    "next.title": "Next",
    "next.none": "Every participant is attended to",
    "next.go": "Focus (N)",
    "keys.title": "Shortcuts",
    "keys.help": "1–6 focus booth · N next · 0 unfocus · Esc close",
    "slot.empty": "Free slot",
    "slot.waiting": "Waiting for a participant from the queue",
    "slot.paused": "Paused — not taking participants",
    "tile.ticket": "Ticket {ticket}",
    "tile.no_ticket": "No ticket",
    "tile.focused": "FOCUS",
    "tile.muted": "Muted",
    "tile.focus_hint": "Click to focus",
    "tile.state.waiting_offer": "Waiting for the booth to connect…",
    "tile.state.connecting": "Connecting video…",
    "tile.state.connected": "Connected",
    "tile.state.disconnected": "Connection interrupted…",
    "tile.state.failed": "Connection failed — waiting for the booth",
    "tile.state.closed": "Closed",
    "tile.quality.good": "Good",
    "tile.quality.fair": "Fair",
    "tile.quality.poor": "Poor",
    "tile.quality.unknown": "—",
    "tile.fps": "{fps} fps",
    "tile.loss": "loss {loss}%",
    "tile.rtt": "RTT {rtt} ms",
    "tile.request": "Request document",
    "tile.request.go": "Request",
    "tile.complete": "Complete",
    "tile.transfer": "Transfer",
    "tile.documents": "Documents",
    "tile.requested": "Requested: {kind}",
    "attention.new": "New participant — greet",
    "attention.document": "Document ready for review",
    "attention.waiting": "Waiting longest ({time})",
    "attention.overdue": "Not focused for {time}",
    "doc.kind.ktp": "ID card (KTP)",
    "doc.kind.kpj": "KPJ card",
    "doc.kind.kk": "Family card (KK)",
    "doc.kind.paklaring": "Paklaring",
    "doc.kind.bank_book": "Bank book",
    "doc.kind.npwp": "NPWP",
    "doc.kind.other": "Other",
    "doc.status.pending": "Needs review",
    "doc.status.approved": "Approved",
    "doc.status.rejected": "Rejected",
    "doc.ready": "{kind} from {booth} is ready for review",
    "doc.requested": "{kind} requested from {booth}",
    "doc.viewer.title": "{kind} — {booth}",
    "doc.viewer.zoom_in": "Zoom in",
    "doc.viewer.zoom_out": "Zoom out",
    "doc.viewer.rotate": "Rotate",
    "doc.viewer.fit": "Fit",
    "doc.viewer.full": "Full resolution",
    "doc.viewer.quality": "Quality",
    "doc.viewer.size": "{w}×{h} px",
    "doc.quality.sharpness": "Sharpness",
    "doc.quality.brightness": "Brightness",
    "doc.quality.glare_share": "Glare share",
    "doc.approve": "Approve",
    "doc.reject": "Reject",
    "doc.reject.reason": "Rejection reason",
    "doc.reject.go": "Reject & recapture",
    "doc.reason.blurry": "Blurry",
    "doc.reason.glare": "Glare",
    "doc.reason.cut_off": "Cut off",
    "doc.reason.wrong_document": "Wrong document",
    "doc.reason.unreadable": "Unreadable",
    "doc.reason.data_mismatch": "Data mismatch",
    "doc.load_failed": "Could not load the document: {message}",
    "doc.reviewed.approved": "{kind} approved",
    "doc.reviewed.rejected": "{kind} rejected — the participant is asked to recapture",
    "complete.title": "Complete session — {booth}",
    "complete.outcome": "Outcome",
    "complete.note": "Note (optional)",
    "complete.go": "Complete",
    "outcome.claim_submitted": "Claim submitted",
    "outcome.incomplete_documents": "Incomplete documents",
    "outcome.referred": "Referred",
    "outcome.other": "Other",
    "transfer.title": "Transfer session — {booth}",
    "transfer.target": "Target officer",
    "transfer.queue": "Back to the queue (any officer)",
    "transfer.officer": "{name} — {status}, {load}/{capacity}",
    "transfer.go": "Transfer",
    "cancel": "Cancel",
    "close": "Close",
    "session.ended": "Session {booth} ended ({reason})",
    "session.started": "Session {booth} started",
    "session.completed": "Session {booth} completed",
    "session.transferred": "Session {booth} transferred",
    "focus.now": "Focus: {booth}",
    "focus.none": "No booth focused",
    "audio.blocked": "The browser is holding back sound. Click anywhere to enable audio.",
    "error.ack": "{event} failed: {message}",
    "error.timeout": "The server did not answer ({event})",
    "error.generic": "Something went wrong: {message}",
    "error.disconnected": "Not connected to the server",
  },
};

let current = readStoredLanguage();
const listeners = new Set();

function readStoredLanguage() {
  try {
    const stored = localStorage.getItem(STORAGE_KEY);
    if (stored && LANGUAGES.includes(stored)) return stored;
  } catch {
    // storage can be disabled; the default language still works
  }
  return "id";
}

/** Adds page-specific keys (e.g. the ops dashboard's) to both dictionaries. */
export function extend(extra) {
  for (const lang of LANGUAGES) Object.assign(dictionaries[lang], extra[lang] || {});
}

export function getLanguage() {
  return current;
}

export function setLanguage(lang) {
  if (!LANGUAGES.includes(lang) || lang === current) return;
  current = lang;
  try {
    localStorage.setItem(STORAGE_KEY, lang);
  } catch {
    // not persisted; fine for this page view
  }
  document.documentElement.lang = lang;
  applyTranslations(document);
  for (const listener of listeners) listener(lang);
}

export function onLanguageChange(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Translates key with {name} placeholders; unknown keys fall back to English, then the key. */
export function t(key, params) {
  const text = dictionaries[current][key] ?? dictionaries.en[key] ?? key;
  if (!params) return text;
  return text.replace(/\{(\w+)\}/g, (match, name) =>
    params[name] === undefined || params[name] === null ? match : String(params[name]),
  );
}

/** Translates a key if it exists, else returns the fallback (for server-provided codes). */
export function tMaybe(key, fallback) {
  return dictionaries[current][key] ?? dictionaries.en[key] ?? fallback;
}

export function applyTranslations(root) {
  for (const node of root.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  for (const node of root.querySelectorAll("[data-i18n-title]")) node.title = t(node.dataset.i18nTitle);
  for (const node of root.querySelectorAll("[data-i18n-placeholder]")) {
    node.placeholder = t(node.dataset.i18nPlaceholder);
  }
  for (const node of root.querySelectorAll("[data-i18n-aria]")) {
    node.setAttribute("aria-label", t(node.dataset.i18nAria));
  }
}

export function keys(lang) {
  return Object.keys(dictionaries[lang]);
}
