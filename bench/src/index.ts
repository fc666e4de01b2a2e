export { percentile, summarize, ratio, formatBytes, formatSeconds, type Summary } from "./stats.ts";
export { renderMarkdown, mergeResults, parseResults, describeMachine, SECTION_NAMES } from "./results.ts";
export type { Results, Sections, Section, SectionName, Machine } from "./results.ts";
export { podMemoryBytes, type StatsSummary } from "./kubelet.ts";
