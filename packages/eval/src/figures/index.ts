export * from "./font5x7.js";
export * from "./canvas.js";
export * from "./axes.js";
export * from "./box-plot.js";
export * from "./line-chart.js";
export * from "./sample-grid.js";
