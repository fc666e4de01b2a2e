export * from "./chart-values.ts";
export * from "./errors.ts";
export * from "./generator.ts";
export * from "./validators.ts";
export { writeAllOrNothing, type OutputFile } from "./write-files.ts";
export { renderChartFiles, renderSchemaFile, renderValuesYaml, renderValuesTable, chartJsonSchema } from "./chart-files.ts";
