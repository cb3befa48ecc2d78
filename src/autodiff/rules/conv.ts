/**
 * Conv. ∂x = ConvTranspose(∂y, W) with the forward's strides, dilations and group; the pads are
 * the forward's explicit (or auto_pad-resolved) pads and output_padding restores the exact input
 * size the forward floor division lost. Weight/bias gradients are not needed.
 */
import { attrInt } from "../graph.ts";
import { RuleError } from "../errors.ts";
import { knownShape, numericDims } from "./shape.ts";
import type { OpRule } from "./types.ts";
import { transposeFit, windowOf } from "./window.ts";

function geometry(ctx: Parameters<OpRule["infer"]>[0]) {
  const x = knownShape(ctx.info(0), "Conv input");
  const wShape = numericDims(knownShape(ctx.info(1), "Conv weight"), "Conv weight");
  const spatial = numericDims(x.slice(2), "Conv input");
  const win = windowOf(ctx.node, spatial, wShape.slice(2));
  return { x, wShape, spatial, win };
}

export const convRule: OpRule = {
  infer(ctx) {
    const { x, wShape, win } = geometry(ctx);
    return [{ shape: [x[0], wShape[0], ...win.out], elemType: ctx.info(0).elemType }];
  },
  backward(ctx, [g]) {
    if (ctx.active(1) || ctx.active(2)) throw new RuleError("Conv weights depend on the pixels");
    const { spatial, win } = geometry(ctx);
    const fit = transposeFit(win, spatial);
    const dx = ctx.b.op("ConvTranspose", [g!, ctx.input(1)], {
      kernel_shape: { ints: win.kernel },
      strides: { ints: win.strides },
      dilations: { ints: win.dilations },
      group: { i: attrInt(ctx.node, "group", 1) },
      pads: { ints: fit.pads },
      output_padding: { ints: fit.outputPadding },
    });
    return [dx];
  },
};
