/**
 * ONNX export of a timm ViT, for running the same model in onnxruntime (the peer benchmark).
 *
 * Two parts, both pure and browser-safe (no Node APIs, results are Uint8Array):
 * - a small protobuf encoder for the subset of onnx.proto this needs (ModelProto, GraphProto,
 *   NodeProto, AttributeProto, TensorProto with raw_data, ValueInfoProto, opset imports);
 * - `vitToOnnx`, the whole float forward as an ONNX graph (opset 17, IR version 8): input `images`
 *   [batch, C, H, W] with a symbolic batch, output `logits` [batch, classes]. With
 *   `weights: 'int4'` every linear layer, the patch embedding included (as im2col + matmul), uses
 *   com.microsoft `MatMulNBits` (4 bits, blocks of `blockSize` along the input dimension,
 *   round-to-nearest codes computed here from the float weights).
 *
 * Field numbers follow onnx/onnx.proto (https://github.com/onnx/onnx/blob/main/onnx/onnx.proto).
 * Tensors are written little-endian, as the format requires; like the rest of the engine this
 * assumes a little-endian host for the float views.
 */
import type { VitCheckpoint } from '../model/checkpoint.js';
import { FimaqError } from '../util/errors.js';

// ---------------------------------------------------------------------------------------------
// Protobuf wire format

const WIRE_VARINT = 0;
const WIRE_LEN = 2;
const WIRE_I32 = 5;

/** Appends protobuf fields to a growing byte buffer. */
export class ProtoWriter {
  private buf = new Uint8Array(256);
  private len = 0;

  private reserve(extra: number): void {
    if (this.len + extra <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + extra) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  /** A varint. Negative numbers are int64 two's complement (10 bytes), as protobuf encodes int32/int64. */
  varint(n: number): this {
    if (!Number.isSafeInteger(n)) throw new Error(`protobuf varint: ${n} is not a safe integer`);
    this.reserve(10);
    if (n >= 0) {
      while (n >= 0x80) {
        this.buf[this.len++] = (n % 0x80) | 0x80;
        n = Math.floor(n / 0x80);
      }
      this.buf[this.len++] = n;
    } else {
      let u = BigInt.asUintN(64, BigInt(n));
      while (u >= 0x80n) {
        this.buf[this.len++] = Number(u & 0x7fn) | 0x80;
        u >>= 7n;
      }
      this.buf[this.len++] = Number(u);
    }
    return this;
  }

  private tag(field: number, wire: number): void {
    this.varint(field * 8 + wire);
  }

  /** int32 / int64 / enum / bool field. */
  int(field: number, n: number): this {
    this.tag(field, WIRE_VARINT);
    return this.varint(n);
  }

  /** float field (fixed32, little-endian). */
  float(field: number, x: number): this {
    this.tag(field, WIRE_I32);
    this.reserve(4);
    new DataView(this.buf.buffer).setFloat32(this.len, x, true);
    this.len += 4;
    return this;
  }

  /** bytes field, or an embedded message already encoded. */
  bytes(field: number, b: Uint8Array): this {
    this.tag(field, WIRE_LEN);
    this.varint(b.length);
    this.reserve(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
    return this;
  }

  string(field: number, s: string): this {
    return this.bytes(field, new TextEncoder().encode(s));
  }

  /** A packed repeated varint field (proto3 default for repeated scalars). */
  packedInts(field: number, ns: readonly number[]): this {
    if (ns.length === 0) return this;
    const inner = new ProtoWriter();
    for (const n of ns) inner.varint(n);
    return this.bytes(field, inner.finish());
  }

  /** A packed repeated float field. */
  packedFloats(field: number, xs: readonly number[]): this {
    if (xs.length === 0) return this;
    const b = new Uint8Array(4 * xs.length);
    const view = new DataView(b.buffer);
    xs.forEach((x, i) => view.setFloat32(4 * i, x, true));
    return this.bytes(field, b);
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

// ---------------------------------------------------------------------------------------------
// The ONNX subset

/** TensorProto.DataType values used here. */
export const OnnxType = { FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6, INT64: 7 } as const;

export interface OnnxTensor {
  name: string;
  dataType: number;
  dims: number[];
  /** Little-endian element bytes (TensorProto.raw_data). */
  raw: Uint8Array;
}

export type OnnxAttribute =
  | { name: string; type: 'int'; value: number }
  | { name: string; type: 'float'; value: number }
  | { name: string; type: 'string'; value: string }
  | { name: string; type: 'ints'; value: number[] }
  | { name: string; type: 'floats'; value: number[] };

export interface OnnxNode {
  opType: string;
  inputs: string[];
  outputs: string[];
  name?: string;
  /** '' (or absent) for the default ai.onnx domain. */
  domain?: string;
  attributes?: OnnxAttribute[];
}

export interface OnnxValueInfo {
  name: string;
  elemType: number;
  /** A number is a fixed size, a string a symbolic (dynamic) dimension. */
  shape: (number | string)[];
}

export interface OnnxGraph {
  name: string;
  nodes: OnnxNode[];
  initializers: OnnxTensor[];
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
}

export interface OnnxModel {
  irVersion: number;
  opsets: { domain: string; version: number }[];
  producerName: string;
  producerVersion: string;
  docString?: string;
  graph: OnnxGraph;
}

/** AttributeProto.AttributeType */
const ATTR_TYPE = { float: 1, int: 2, string: 3, floats: 6, ints: 7 } as const;

function encodeTensor(t: OnnxTensor): Uint8Array {
  const w = new ProtoWriter();
  w.packedInts(1, t.dims); // dims
  w.int(2, t.dataType); // data_type
  w.string(8, t.name); // name
  w.bytes(9, t.raw); // raw_data
  return w.finish();
}

function encodeAttribute(a: OnnxAttribute): Uint8Array {
  const w = new ProtoWriter();
  w.string(1, a.name);
  switch (a.type) {
    case 'float': w.float(2, a.value); break;
    case 'int': w.int(3, a.value); break;
    case 'string': w.string(4, a.value); break;
    case 'floats': w.packedFloats(7, a.value); break;
    case 'ints': w.packedInts(8, a.value); break;
  }
  w.int(20, ATTR_TYPE[a.type]);
  return w.finish();
}

function encodeNode(n: OnnxNode): Uint8Array {
  const w = new ProtoWriter();
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  if (n.name) w.string(3, n.name);
  w.string(4, n.opType);
  for (const a of n.attributes ?? []) w.bytes(5, encodeAttribute(a));
  if (n.domain) w.string(7, n.domain);
  return w.finish();
}

function encodeValueInfo(v: OnnxValueInfo): Uint8Array {
  const shape = new ProtoWriter();
  for (const d of v.shape) {
    const dim = new ProtoWriter();
    if (typeof d === 'number') dim.int(1, d); // dim_value
    else dim.string(2, d); // dim_param
    shape.bytes(1, dim.finish());
  }
  const tensorType = new ProtoWriter().int(1, v.elemType).bytes(2, shape.finish());
  const type = new ProtoWriter().bytes(1, tensorType.finish()); // TypeProto.tensor_type
  return new ProtoWriter().string(1, v.name).bytes(2, type.finish()).finish();
}

function encodeGraph(g: OnnxGraph): Uint8Array {
  const w = new ProtoWriter();
  for (const n of g.nodes) w.bytes(1, encodeNode(n));
  w.string(2, g.name);
  for (const t of g.initializers) w.bytes(5, encodeTensor(t));
  for (const v of g.inputs) w.bytes(11, encodeValueInfo(v));
  for (const v of g.outputs) w.bytes(12, encodeValueInfo(v));
  return w.finish();
}

/** Serializes a ModelProto. */
export function encodeOnnxModel(m: OnnxModel): Uint8Array {
  const w = new ProtoWriter();
  w.int(1, m.irVersion);
  w.string(2, m.producerName);
  w.string(3, m.producerVersion);
  if (m.docString) w.string(6, m.docString);
  w.bytes(7, encodeGraph(m.graph));
  for (const o of m.opsets) {
    const op = new ProtoWriter();
    if (o.domain) op.string(1, o.domain);
    op.int(2, o.version);
    w.bytes(8, op.finish());
  }
  return w.finish();
}

// ---------------------------------------------------------------------------------------------
// Graph building

function bytesOf(a: Float32Array | BigInt64Array | Uint8Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** Collects nodes and initializers; every value gets a unique, readable name. */
class GraphBuilder {
  readonly nodes: OnnxNode[] = [];
  readonly initializers: OnnxTensor[] = [];
  private readonly used = new Set<string>();
  private readonly int64Consts = new Map<string, string>();

  private unique(name: string): string {
    let n = name;
    for (let k = 1; this.used.has(n); k++) n = `${name}_${k}`;
    this.used.add(n);
    return n;
  }

  reserveName(name: string): string {
    return this.unique(name);
  }

  f32(name: string, dims: number[], data: Float32Array): string {
    const n = this.unique(name);
    this.initializers.push({ name: n, dataType: OnnxType.FLOAT, dims, raw: bytesOf(data) });
    return n;
  }

  u8(name: string, dims: number[], data: Uint8Array): string {
    const n = this.unique(name);
    this.initializers.push({ name: n, dataType: OnnxType.UINT8, dims, raw: data });
    return n;
  }

  /** An int64 constant (shapes, indices); identical values share one initializer. */
  i64(values: number[], scalar = false): string {
    const key = `${scalar ? 's' : 'v'}:${values.join(',')}`;
    const known = this.int64Consts.get(key);
    if (known) return known;
    const n = this.unique(scalar ? `const_${values[0]}` : `shape_${values.join('_').replace(/-/g, 'm')}`);
    const data = BigInt64Array.from(values, (v) => BigInt(v));
    this.initializers.push({ name: n, dataType: OnnxType.INT64, dims: scalar ? [] : [values.length], raw: bytesOf(data) });
    this.int64Consts.set(key, n);
    return n;
  }

  /** Adds a node with one output named `out` (made unique) and returns that name. */
  op(opType: string, inputs: string[], out: string, attributes: OnnxAttribute[] = [], domain = ''): string {
    const o = this.unique(out);
    this.nodes.push({ opType, inputs, outputs: [o], name: o, attributes, ...(domain ? { domain } : {}) });
    return o;
  }
}

// ---------------------------------------------------------------------------------------------
// 4-bit block quantization for MatMulNBits

export interface Int4Blocks {
  rows: number;
  cols: number;
  blockSize: number;
  blocksPerRow: number;
  /** MatMulNBits input B: [rows, blocksPerRow, blockSize / 2], two codes per byte, low nibble first. */
  packed: Uint8Array;
  /** [rows * blocksPerRow] */
  scales: Float32Array;
  /** [rows * ceil(blocksPerRow / 2)], two 4-bit zero points per byte; null when symmetric (implicit 8). */
  zeroPoints: Uint8Array | null;
  /** (code - zero point) * scale in float32, [rows, cols]: what MatMulNBits multiplies with. */
  dequantized: Float32Array;
}

/**
 * Round-to-nearest 4-bit codes per block of `blockSize` consecutive input columns of a row-major
 * [rows, cols] weight (a timm Linear weight [out, in]: the layout MatMulNBits wants).
 * Asymmetric: the block's range [min(w, 0), max(w, 0)] maps onto codes 0..15 with a zero point.
 * Symmetric: scale = max|w| / 7, codes round(w / scale) + 8 in 1..15, zero point 8 (implicit).
 * A last partial block is padded with code = zero point (value 0).
 */
export function quantizeInt4Blocks(w: Float32Array, rows: number, cols: number, blockSize: number, symmetric: boolean): Int4Blocks {
  if (w.length !== rows * cols) throw new Error(`quantizeInt4Blocks: ${w.length} values for [${rows}, ${cols}]`);
  if (blockSize < 16 || (blockSize & (blockSize - 1)) !== 0) {
    throw new FimaqError(`MatMulNBits block size must be a power of two >= 16, got ${blockSize}`);
  }
  const blocksPerRow = Math.ceil(cols / blockSize);
  const blob = blockSize / 2;
  const zpBytesPerRow = Math.ceil(blocksPerRow / 2);
  const packed = new Uint8Array(rows * blocksPerRow * blob);
  const scales = new Float32Array(rows * blocksPerRow);
  const zeroPoints = symmetric ? null : new Uint8Array(rows * zpBytesPerRow);
  const dequantized = new Float32Array(rows * cols);
  const f32 = new Float32Array(1);
  for (let r = 0; r < rows; r++) {
    for (let b = 0; b < blocksPerRow; b++) {
      const start = b * blockSize;
      const end = Math.min(cols, start + blockSize);
      let lo = 0;
      let hi = 0;
      for (let c = start; c < end; c++) {
        const v = w[r * cols + c];
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      let zp: number;
      let scale: number;
      if (symmetric) {
        const amax = Math.max(-lo, hi);
        scale = amax > 0 ? amax / 7 : 1;
        zp = 8;
      } else {
        scale = hi > lo ? (hi - lo) / 15 : 1;
        f32[0] = scale;
        zp = Math.min(15, Math.max(0, Math.round(-lo / f32[0])));
      }
      f32[0] = scale;
      const s = f32[0];
      scales[r * blocksPerRow + b] = s;
      if (zeroPoints) zeroPoints[r * zpBytesPerRow + (b >> 1)] |= zp << (4 * (b & 1));
      for (let j = 0; j < blockSize; j++) {
        const c = start + j;
        let q = zp;
        if (c < end) {
          q = Math.min(15, Math.max(0, Math.round(w[r * cols + c] / s) + zp));
          f32[0] = (q - zp) * s;
          dequantized[r * cols + c] = f32[0];
        }
        packed[(r * blocksPerRow + b) * blob + (j >> 1)] |= q << (4 * (j & 1));
      }
    }
  }
  return { rows, cols, blockSize, blocksPerRow, packed, scales, zeroPoints, dequantized };
}

// ---------------------------------------------------------------------------------------------
// The ViT graph

export interface OnnxExportOptions {
  /** 'float32' (MatMul / Conv / Gemm) or 'int4' (MatMulNBits for every linear layer). Default float32. */
  weights?: 'float32' | 'int4';
  /** MatMulNBits block size along the input dimension (power of two >= 16). Default 32. */
  blockSize?: number;
  /** Symmetric codes with the implicit zero point 8 instead of per-block zero points. Default false. */
  symmetric?: boolean;
  /**
   * MatMulNBits accuracy_level: 0 (default) multiplies in float32 with the dequantized weights,
   * i.e. int4 weight-only; 4 lets the CPU EP quantize the activations to int8.
   */
  accuracyLevel?: number;
  /** Name of the symbolic batch dimension. Default 'batch'. */
  batchName?: string;
}

export const ONNX_OPSET = 17;
export const ONNX_IR_VERSION = 8;
const MS_DOMAIN = 'com.microsoft';

/** Every linear weight of the checkpoint as [rows=out, cols=in]; the patch embedding flattened over (C, P, P). */
export function linearWeightShapes(ckpt: VitCheckpoint): Map<string, [number, number]> {
  const c = ckpt.config;
  const d = c.embedDim;
  const m = new Map<string, [number, number]>([['patch_embed.proj.weight', [d, c.inChans * c.patchSize * c.patchSize]]]);
  for (let i = 0; i < c.depth; i++) {
    m.set(`blocks.${i}.attn.qkv.weight`, [3 * d, d]);
    m.set(`blocks.${i}.attn.proj.weight`, [d, d]);
    m.set(`blocks.${i}.mlp.fc1.weight`, [c.mlpHidden, d]);
    m.set(`blocks.${i}.mlp.fc2.weight`, [d, c.mlpHidden]);
  }
  m.set('head.weight', [c.numClasses, d]);
  return m;
}

/**
 * The checkpoint with every linear weight (and the patch embedding) replaced by the float32
 * values the int4 export's MatMulNBits dequantizes to: the reference for that export.
 */
export function int4DequantizedCheckpoint(ckpt: VitCheckpoint, blockSize = 32, symmetric = false): VitCheckpoint {
  const weights = new Map(ckpt.weights);
  for (const [name, [rows, cols]] of linearWeightShapes(ckpt)) {
    weights.set(name, quantizeInt4Blocks(weightOf(ckpt, name), rows, cols, blockSize, symmetric).dequantized);
  }
  return { ...ckpt, weights };
}

function weightOf(ckpt: VitCheckpoint, name: string): Float32Array {
  const t = ckpt.weights.get(name);
  if (!t) throw new FimaqError(`${ckpt.source}: checkpoint has no tensor ${name}`);
  return t;
}

function transpose(w: Float32Array, rows: number, cols: number): Float32Array {
  const t = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = w[r * cols + c];
  return t;
}

/** Builds the ONNX graph of the ViT forward and returns the serialized model. */
export function vitToOnnx(ckpt: VitCheckpoint, options: OnnxExportOptions = {}): Uint8Array {
  return encodeOnnxModel(vitOnnxModel(ckpt, options));
}

/** The ONNX model structure (before serialization) of the ViT forward. */
export function vitOnnxModel(ckpt: VitCheckpoint, options: OnnxExportOptions = {}): OnnxModel {
  const c = ckpt.config;
  const int4 = (options.weights ?? 'float32') === 'int4';
  const blockSize = options.blockSize ?? 32;
  const symmetric = options.symmetric ?? false;
  const accuracyLevel = options.accuracyLevel ?? 0;
  const batch = options.batchName ?? 'batch';
  const D = c.embedDim;
  const H = c.numHeads;
  const hd = D / H;
  const P = c.patchSize;
  const grid = c.imgSize / P;
  const g = new GraphBuilder();
  const w = (name: string) => weightOf(ckpt, name);
  const eps = c.layerNormEps;

  const images = g.reserveName('images');
  const logitsName = g.reserveName('logits');

  /** y = x · Wᵀ + b for a [rows=out, cols=in] weight; x has any rank with last dim `cols`. */
  const linear = (x: string, prefix: string, weight: Float32Array, rows: number, cols: number, bias: Float32Array, out: string): string => {
    let y: string;
    if (int4) {
      const q = quantizeInt4Blocks(weight, rows, cols, blockSize, symmetric);
      const inputs = [
        x,
        g.u8(`${prefix}.weight_q4`, [rows, q.blocksPerRow, blockSize / 2], q.packed),
        g.f32(`${prefix}.weight_scales`, [rows * q.blocksPerRow], q.scales),
      ];
      if (q.zeroPoints) inputs.push(g.u8(`${prefix}.weight_zero_points`, [q.zeroPoints.length], q.zeroPoints));
      const attrs: OnnxAttribute[] = [
        { name: 'K', type: 'int', value: cols },
        { name: 'N', type: 'int', value: rows },
        { name: 'bits', type: 'int', value: 4 },
        { name: 'block_size', type: 'int', value: blockSize },
        { name: 'accuracy_level', type: 'int', value: accuracyLevel },
      ];
      y = g.op('MatMulNBits', inputs, `${prefix}/MatMulNBits`, attrs, MS_DOMAIN);
    } else {
      y = g.op('MatMul', [x, g.f32(`${prefix}.weight_t`, [cols, rows], transpose(weight, rows, cols))], `${prefix}/MatMul`);
    }
    return g.op('Add', [y, g.f32(`${prefix}.bias`, [rows], bias)], out);
  };

  const layerNorm = (x: string, prefix: string, out: string): string =>
    g.op('LayerNormalization', [x, g.f32(`${prefix}.weight`, [D], w(`${prefix}.weight`)), g.f32(`${prefix}.bias`, [D], w(`${prefix}.bias`))], out, [
      { name: 'axis', type: 'int', value: -1 },
      { name: 'epsilon', type: 'float', value: eps },
    ]);

  // Patch embedding -> tokens [B, N, D].
  let patches: string;
  const kPatch = c.inChans * P * P;
  if (int4) {
    // im2col: [B, C, h, P, w, P] -> [B, h, w, C, P, P] -> [B, N, C·P·P], the order of the flattened conv weight.
    const split = g.op('Reshape', [images, g.i64([0, c.inChans, grid, P, grid, P])], 'patch_embed/Reshape');
    const perm = g.op('Transpose', [split], 'patch_embed/Transpose', [{ name: 'perm', type: 'ints', value: [0, 2, 4, 1, 3, 5] }]);
    const cols = g.op('Reshape', [perm, g.i64([0, c.numPatches, kPatch])], 'patch_embed/im2col');
    patches = linear(cols, 'patch_embed.proj', w('patch_embed.proj.weight'), D, kPatch, w('patch_embed.proj.bias'), 'patch_embed/out');
  } else {
    const conv = g.op(
      'Conv',
      [images, g.f32('patch_embed.proj.weight', [D, c.inChans, P, P], w('patch_embed.proj.weight')), g.f32('patch_embed.proj.bias', [D], w('patch_embed.proj.bias'))],
      'patch_embed/Conv',
      [
        { name: 'kernel_shape', type: 'ints', value: [P, P] },
        { name: 'strides', type: 'ints', value: [P, P] },
      ],
    );
    const flat = g.op('Reshape', [conv, g.i64([0, D, c.numPatches])], 'patch_embed/Reshape');
    patches = g.op('Transpose', [flat], 'patch_embed/out', [{ name: 'perm', type: 'ints', value: [0, 2, 1] }]);
  }

  // Class token expanded to [B, 1, D], concatenated, plus position embeddings.
  const batchDim = g.op('Shape', [images], 'batch_size', [
    { name: 'start', type: 'int', value: 0 },
    { name: 'end', type: 'int', value: 1 },
  ]);
  const clsShape = g.op('Concat', [batchDim, g.i64([1, D])], 'cls_shape', [{ name: 'axis', type: 'int', value: 0 }]);
  const cls = g.op('Expand', [g.f32('cls_token', [1, 1, D], w('cls_token')), clsShape], 'cls_tokens');
  const tokens = g.op('Concat', [cls, patches], 'tokens', [{ name: 'axis', type: 'int', value: 1 }]);
  let x = g.op('Add', [tokens, g.f32('pos_embed', [1, c.numTokens, D], w('pos_embed'))], 'embedded');

  const scale = g.f32('attn_scale', [], Float32Array.of(1 / Math.sqrt(hd)));
  const sqrtHalf = g.f32('gelu_inv_sqrt2', [], Float32Array.of(Math.SQRT1_2));
  const one = g.f32('one', [], Float32Array.of(1));
  const half = g.f32('half', [], Float32Array.of(0.5));

  for (let i = 0; i < c.depth; i++) {
    const p = `blocks.${i}`;
    // Attention.
    const h = layerNorm(x, `${p}.norm1`, `${p}/norm1`);
    const qkv = linear(h, `${p}.attn.qkv`, w(`${p}.attn.qkv.weight`), 3 * D, D, w(`${p}.attn.qkv.bias`), `${p}/attn/qkv`);
    const qkv5 = g.op('Reshape', [qkv, g.i64([0, 0, 3, H, hd])], `${p}/attn/qkv_heads`);
    const qkvT = g.op('Transpose', [qkv5], `${p}/attn/qkv_t`, [{ name: 'perm', type: 'ints', value: [2, 0, 3, 1, 4] }]); // [3, B, H, T, hd]
    const part = (index: number, name: string) => g.op('Gather', [qkvT, g.i64([index], true)], `${p}/attn/${name}`, [{ name: 'axis', type: 'int', value: 0 }]);
    const q = part(0, 'q');
    const k = part(1, 'k');
    const v = part(2, 'v');
    const kT = g.op('Transpose', [k], `${p}/attn/k_t`, [{ name: 'perm', type: 'ints', value: [0, 1, 3, 2] }]);
    const scores = g.op('Mul', [g.op('MatMul', [q, kT], `${p}/attn/qk`), scale], `${p}/attn/scores`);
    const attn = g.op('Softmax', [scores], `${p}/attn/map`, [{ name: 'axis', type: 'int', value: -1 }]);
    const ctxHeads = g.op('MatMul', [attn, v], `${p}/attn/context`); // [B, H, T, hd]
    const merged = g.op('Reshape', [g.op('Transpose', [ctxHeads], `${p}/attn/context_t`, [{ name: 'perm', type: 'ints', value: [0, 2, 1, 3] }]), g.i64([0, 0, D])], `${p}/attn/merged`);
    const proj = linear(merged, `${p}.attn.proj`, w(`${p}.attn.proj.weight`), D, D, w(`${p}.attn.proj.bias`), `${p}/attn/proj`);
    x = g.op('Add', [x, proj], `${p}/residual1`);
    // MLP with the exact erf GELU: 0.5 · x · (1 + erf(x / √2)).
    const h2 = layerNorm(x, `${p}.norm2`, `${p}/norm2`);
    const f1 = linear(h2, `${p}.mlp.fc1`, w(`${p}.mlp.fc1.weight`), c.mlpHidden, D, w(`${p}.mlp.fc1.bias`), `${p}/mlp/fc1`);
    const erf = g.op('Erf', [g.op('Mul', [f1, sqrtHalf], `${p}/mlp/gelu_scaled`)], `${p}/mlp/gelu_erf`);
    const gelu = g.op('Mul', [g.op('Mul', [f1, g.op('Add', [erf, one], `${p}/mlp/gelu_1p`)], `${p}/mlp/gelu_x`), half], `${p}/mlp/gelu`);
    const f2 = linear(gelu, `${p}.mlp.fc2`, w(`${p}.mlp.fc2.weight`), D, c.mlpHidden, w(`${p}.mlp.fc2.bias`), `${p}/mlp/fc2`);
    x = g.op('Add', [x, f2], `${p}/residual2`);
  }

  // Class token -> final LayerNorm -> head.
  const pooled = g.op('Gather', [x, g.i64([0], true)], 'cls_pool', [{ name: 'axis', type: 'int', value: 1 }]);
  const normed = layerNorm(pooled, 'norm', 'norm/out');
  if (int4) {
    const logits = linear(normed, 'head', w('head.weight'), c.numClasses, D, w('head.bias'), 'head/out');
    g.nodes.push({ opType: 'Identity', inputs: [logits], outputs: [logitsName], name: 'logits' });
  } else {
    g.nodes.push({
      opType: 'Gemm',
      inputs: [normed, g.f32('head.weight', [c.numClasses, D], w('head.weight')), g.f32('head.bias', [c.numClasses], w('head.bias'))],
      outputs: [logitsName],
      name: 'head/Gemm',
      attributes: [{ name: 'transB', type: 'int', value: 1 }],
    });
  }

  const opsets = [{ domain: '', version: ONNX_OPSET }];
  if (int4) opsets.push({ domain: MS_DOMAIN, version: 1 });
  const what = int4 ? `int4 weights (MatMulNBits, block ${blockSize}, ${symmetric ? 'symmetric' : 'with zero points'})` : 'float32 weights';
  return {
    irVersion: ONNX_IR_VERSION,
    opsets,
    producerName: 'fimaq',
    producerVersion: '0.1.0',
    docString: `${c.architecture} ViT forward (${ckpt.source}), ${what}`,
    graph: {
      name: c.architecture,
      nodes: g.nodes,
      initializers: g.initializers,
      inputs: [{ name: images, elemType: OnnxType.FLOAT, shape: [batch, c.inChans, c.imgSize, c.imgSize] }],
      outputs: [{ name: logitsName, elemType: OnnxType.FLOAT, shape: [batch, c.numClasses] }],
    },
  };
}
