// A WGSL im2col program for tfjs-backend-webgpu: x [B,H,W,Ci] (NHWC) -> [B, oh*ow, kh*kw*Ci], column index
// (ky*kw + kx)*Ci + c, i.e. the filter layout [kh,kw,Ci,Co] flattened. One invocation per output element; out-of-
// image taps read 0 (the conv's padding). The same maths as the backend's internal Im2ColProgram, which the package
// does not export. Programs are plain objects that WebGPUBackend.runWebGPUProgram turns into a shader: the backend
// prepends the uniform struct (xShape, outShape, size, and `uniforms` below) and the getCoordsFromIndex/getX helpers.

/** The subset of tfjs-backend-webgpu's WebGPUProgram that runWebGPUProgram reads. */
export interface WebGpuProgram {
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  variableNames: string[];
  uniforms?: string;
  workgroupSize: [number, number, number];
  size?: boolean;
  getUserCode(): string;
}

const WORKGROUP = 64;
// WebGPU caps each dispatch dimension (65535 is the spec's guaranteed minimum): spread big grids over y and z,
// which the backend's getGlobalIndex() folds back into one flat index.
const MAX_GROUPS = 65535;

/** A flat dispatch over `size` invocations in workgroups of WORKGROUP, folded into x/y/z within the limit. */
export function flatDispatch(size: number): [number, number, number] {
  const groups = Math.ceil(size / WORKGROUP);
  if (groups <= MAX_GROUPS) return [groups, 1, 1];
  const side = Math.ceil(Math.sqrt(groups));
  if (side <= MAX_GROUPS) return [side, Math.ceil(groups / side), 1];
  const cube = Math.ceil(Math.cbrt(groups));
  return [cube, cube, cube];
}

export function im2colProgram(outputShape: [number, number, number]): WebGpuProgram {
  const size = outputShape[0] * outputShape[1] * outputShape[2];
  return {
    outputShape,
    shaderKey: "synthmri_im2col_nhwc",
    dispatchLayout: { x: [0, 1, 2] },
    dispatch: flatDispatch(size),
    variableNames: ["x"],
    uniforms: "pads : vec2<i32>, strides : vec2<i32>, outWidth : i32, itemsPerBlockRow : i32, inChannels : i32,",
    workgroupSize: [WORKGROUP, 1, 1],
    size: true,
    getUserCode: () => `
    fn main(index : i32) {
      if (index < uniforms.size) {
        let coords = getCoordsFromIndex(index);
        let batch = coords[0];
        let row = coords[1];
        let col = coords[2];
        let xRow = (row / uniforms.outWidth) * uniforms.strides[0] - uniforms.pads[0] + col / uniforms.itemsPerBlockRow;
        var value = 0.0;
        if (xRow >= 0 && xRow < uniforms.xShape[1]) {
          let xCol = (row % uniforms.outWidth) * uniforms.strides[1] - uniforms.pads[1]
            + (col % uniforms.itemsPerBlockRow) / uniforms.inChannels;
          if (xCol >= 0 && xCol < uniforms.xShape[2]) {
            value = getX(batch, xRow, xCol, col % uniforms.inChannels);
          }
        }
        setOutputAtIndex(index, value);
      }
    }
  `,
  };
}
