// Segmenter models: every version with its validation Dice, loaded or not; load and unload.
import { errorBox, h, lineChart, table, when } from "../dom.js";
import { api } from "../rpc.js";

export async function modelsPage(root: HTMLElement): Promise<void> {
  const { models } = await api.segmenter.listModels({ page: { pageSize: 200 } });
  const status = h("div");
  const act = (kind: "load" | "unload", id: string, version: number) => async () => {
    try {
      if (kind === "load") await api.segmenter.loadModel({ modelId: id, version });
      else await api.segmenter.unloadModel({ modelId: id, version });
      location.reload();
    } catch (e) {
      status.replaceChildren(errorBox(e));
    }
  };
  root.append(
    status,
    table(
      ["model", "version", "condition", "run", "validation Dice", "backend", "created", "loaded", ""],
      models.map((m) => [
        m.id,
        m.version,
        m.name,
        m.run,
        Object.entries(m.validationDice)
          .map(([k, v]) => `${k} ${v.toFixed(3)}`)
          .join(", "),
        m.provenance?.backend ?? "",
        when(m.createdAt),
        m.loaded ? h("span", { class: "ok" }, "yes") : "no",
        m.loaded
          ? h("button", { onclick: act("unload", m.id, m.version) }, "Unload")
          : h("button", { onclick: act("load", m.id, m.version) }, "Load"),
      ]),
    ),
  );
  // Validation Dice by version, one line per region, for each model id (how training improved it).
  const byId = new Map<string, typeof models>();
  for (const m of models) byId.set(m.id, [...(byId.get(m.id) ?? []), m]);
  for (const [id, versions] of byId) {
    const regions = [...new Set(versions.flatMap((v) => Object.keys(v.validationDice)))];
    if (regions.length === 0) continue;
    root.append(
      lineChart(
        `${id}: validation Dice by version`,
        regions.map((r) => ({
          name: r,
          points: versions
            .filter((v) => r in v.validationDice)
            .sort((a, b) => a.version - b.version)
            .map((v) => [v.version, v.validationDice[r]] as [number, number]),
        })),
      ),
    );
  }
}
