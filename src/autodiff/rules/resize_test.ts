import { checkFixture } from "../testing.ts";

// Nearest ×2: Upsample at 9, Resize-10 (asymmetric, floor), Resize-11/13 from torch's exporter.
for (const opset of [9, 10, 11, 13]) {
  Deno.test(`Resize nearest gradient matches torch at opset ${opset}`, () =>
    checkFixture(`resize_nearest_opset${opset}`));
}
// Bilinear (pytorch_half_pixel and align_corners, up and down, scales and sizes), nearest to sizes.
for (const opset of [11, 13]) {
  Deno.test(`Resize linear gradient matches torch at opset ${opset}`, () =>
    checkFixture(`resize_linear_opset${opset}`));
}
// TensorFlow-style: half_pixel, tf_half_pixel_for_nn + round_prefer_ceil, asymmetric, sizes over `axes` (opset 18).
Deno.test("Resize with TF coordinate modes matches the reference", () => checkFixture("resize_tf_modes"));
