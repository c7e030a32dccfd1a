// Partner bundles and the partner audit log (PartnerAdminService on the generator's internal port): every
// partner request with its status, sizes, URL expiry and job; revocation with a reason; the audit log newest
// first, filtered by partner, event type and start date, paged with "older events".
import { type AuditEvent, type BundleSummary, BundleStatus } from "@synthmri/contracts";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { errorBox, h, table, when } from "../dom.js";
import { api } from "../rpc.js";

const EVENT_TYPES = [
  "",
  "request.accepted",
  "request.refused",
  "export",
  "request.failed",
  "download.url",
  "bundle.revoked",
  "call",
];

function statusName(s: BundleStatus): string {
  return (BundleStatus[s] ?? String(s)).toLowerCase();
}

function bytes(n: bigint): string {
  const v = Number(n);
  if (v === 0) return "";
  return v >= 1 << 20 ? `${(v / (1 << 20)).toFixed(1)} MiB` : `${(v / 1024).toFixed(1)} KiB`;
}

export async function partnersPage(root: HTMLElement, params: URLSearchParams): Promise<void> {
  const partner = params.get("partner") ?? "";
  const type = params.get("type") ?? "";
  const since = params.get("since") ?? "";
  root.append(filterForm(partner, type, since));
  const bundlesBox = h("section", { "data-testid": "bundles" });
  const auditBox = h("section", { "data-testid": "audit" });
  root.append(bundlesBox, auditBox);
  await Promise.all([showBundles(bundlesBox, partner), showAudit(auditBox, partner, type, since)]);
}

function filterForm(partner: string, type: string, since: string): HTMLElement {
  const partnerIn = h("input", { name: "partner", value: partner, placeholder: "all partners", size: "14" });
  const typeIn = h(
    "select",
    { name: "type" },
    ...EVENT_TYPES.map((t) => h("option", { value: t, ...(t === type ? { selected: true } : {}) }, t || "all events")),
  );
  const sinceIn = h("input", { name: "since", type: "date", value: since });
  return h(
    "form",
    {
      class: "filters",
      onsubmit: (e: Event) => {
        e.preventDefault();
        const q = new URLSearchParams();
        if (partnerIn.value.trim()) q.set("partner", partnerIn.value.trim());
        if (typeIn.value) q.set("type", typeIn.value);
        if (sinceIn.value) q.set("since", sinceIn.value);
        location.hash = `#partners?${q}`;
      },
    },
    h("label", {}, "partner ", partnerIn),
    " ",
    h("label", {}, "audit event ", typeIn),
    " ",
    h("label", {}, "since ", sinceIn),
    " ",
    h("button", { type: "submit" }, "Filter"),
  );
}

async function showBundles(box: HTMLElement, partner: string): Promise<void> {
  const { bundles } = await api.partnerAdmin.listBundles({ partner, pageSize: 200 });
  const message = h("div");
  box.replaceChildren(
    h("h2", {}, `Bundles (${bundles.length})`),
    bundles.length === 0
      ? h("p", { class: "muted" }, "No partner has requested a synthetic dataset yet.")
      : table(
          [
            "bundle",
            "partner",
            "status",
            "images",
            "format",
            "ensemble",
            "requested",
            "ready",
            "archive",
            "download URL until",
            "utility",
            "job",
            "",
          ],
          bundles.map((b) => [
            h("code", {}, b.bundleId),
            b.partner,
            h(
              "span",
              { class: statusClass(b.status), "data-testid": `bundle-status-${b.bundleId}`, title: b.reason },
              statusName(b.status),
            ),
            `${b.delivered}/${b.requested}`,
            b.format,
            b.ensembleId,
            when(b.requestedAt),
            when(b.readyAt),
            bytes(b.archiveBytes),
            when(b.urlExpiresAt),
            b.utilityStatus,
            b.jobId ? h("a", { href: `#jobs?service=generator&id=${encodeURIComponent(b.jobId)}` }, "watch") : "",
            b.status === BundleStatus.READY ? revokeControl(b, message, () => showBundles(box, partner)) : b.reason,
          ]),
        ),
    message,
    h(
      "p",
      { class: "muted" },
      "Revoking deletes a bundle's files: the partner gets NOT_FOUND from then on; the audit log keeps the reason.",
    ),
  );
}

function revokeControl(b: BundleSummary, message: HTMLElement, refresh: () => Promise<void>): HTMLElement {
  const reason = h("input", { placeholder: "reason", size: "16", "data-testid": `revoke-reason-${b.bundleId}` });
  const button = h(
    "button",
    {
      "data-testid": `revoke-${b.bundleId}`,
      onclick: async () => {
        try {
          await api.partnerAdmin.revokeBundle({ bundleId: b.bundleId, reason: reason.value });
          await refresh();
        } catch (e) {
          message.replaceChildren(errorBox(e));
        }
      },
    },
    "Revoke",
  );
  return h("span", {}, reason, " ", button);
}

function statusClass(s: BundleStatus): string {
  return s === BundleStatus.READY ? "ok" : s === BundleStatus.FAILED || s === BundleStatus.REVOKED ? "bad" : "";
}

async function showAudit(box: HTMLElement, partner: string, type: string, since: string): Promise<void> {
  const start = since ? new Date(`${since}T00:00:00Z`) : undefined;
  const rows = h("tbody");
  const more = h("div");
  box.replaceChildren(
    h("h2", {}, "Audit log"),
    h("p", { class: "muted" }, since ? `Since ${since} (UTC), newest first.` : "The last 7 days, newest first."),
    h(
      "table",
      { "data-testid": "audit-table" },
      h("thead", {}, h("tr", {}, ...["time (UTC)", "partner", "event", "bundle", "what"].map((t) => h("th", {}, t)))),
      rows,
    ),
    more,
  );
  const load = async (pageToken: string) => {
    const r = await api.partnerAdmin.listAuditEvents({
      partner,
      type,
      since: start ? timestampFromDate(start) : undefined,
      pageSize: 50,
      pageToken,
    });
    for (const e of r.events) rows.append(auditRow(e));
    if (r.events.length === 0 && !pageToken)
      rows.append(h("tr", {}, h("td", { colspan: "5", class: "muted" }, "No audit events in this range.")));
    more.replaceChildren(
      r.nextPageToken
        ? h(
            "button",
            { onclick: () => void load(r.nextPageToken).catch((e) => more.replaceChildren(errorBox(e))) },
            "Older events",
          )
        : "",
    );
  };
  await load("");
}

function auditRow(e: AuditEvent): HTMLTableRowElement {
  const parsed = JSON.parse(e.json) as Record<string, unknown>;
  const t = e.at
    ? new Date(Number(e.at.seconds) * 1000 + Math.floor(e.at.nanos / 1e6)).toISOString().replace("T", " ").slice(0, 23)
    : "";
  return h(
    "tr",
    { "data-type": e.type },
    h("td", {}, t),
    h("td", {}, e.partner),
    h("td", {}, e.type),
    h("td", {}, e.bundleId ? h("code", {}, e.bundleId.slice(0, 13)) : ""),
    h(
      "td",
      {},
      summary(parsed),
      " ",
      h("details", {}, h("summary", {}, "event"), h("pre", {}, JSON.stringify(parsed, null, 1))),
    ),
  );
}

/** One line of what happened, from the fields each event type carries. */
function summary(e: Record<string, unknown>): string {
  const err = (e.error as { message?: string } | undefined)?.message;
  switch (e.type) {
    case "call":
      return `${e.method} → ${e.code}${e.details ? `: ${e.details}` : ""}`;
    case "request.accepted":
      return `${e.size} images from ${e.ensembleId} (${e.format})${e.purpose ? `, purpose: ${e.purpose}` : ""}`;
    case "request.refused":
      return `${e.size} images refused: ${err ?? ""}`;
    case "export":
      return `${e.images} images exported, ${(e.files as unknown[] | undefined)?.length ?? 0} files with sha256`;
    case "request.failed":
      return `failed, ${e.released} images released: ${err ?? ""}`;
    case "download.url":
      return `download URL valid until ${e.expiresAt}`;
    case "bundle.revoked":
      return `revoked: ${e.reason}`;
    default:
      return "";
  }
}
