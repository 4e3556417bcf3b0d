/**
 * A minimal protobuf writer for the subset of onnx.proto (ModelProto) that the kernels need: graphs of a
 * few nodes with float initializers, symbolic input shapes and graph-valued attributes (If branches, Loop bodies).
 * Field numbers follow https://github.com/onnx/onnx/blob/main/onnx/onnx.proto.
 *
 * A message is a list of byte chunks plus their total length, so a weight of hundreds of MB is copied
 * exactly once: into the final model buffer.
 */

interface Msg {
  parts: Uint8Array[];
  length: number;
}

const utf8 = new TextEncoder();

function varint(value: number): Uint8Array {
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`onnx-proto: cannot encode ${value} as a varint`);
  const bytes: number[] = [];
  let v = value;
  while (v >= 0x80) {
    bytes.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  bytes.push(v);
  return Uint8Array.from(bytes);
}

/** Signed int64 as protobuf encodes it (two's complement, 10 bytes when negative). */
function int64(value: number): Uint8Array {
  if (value >= 0) return varint(value);
  let v = BigInt.asUintN(64, BigInt(value));
  const bytes: number[] = [];
  while (v >= 0x80n) {
    bytes.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  bytes.push(Number(v));
  return Uint8Array.from(bytes);
}

function msg(): Msg {
  return { parts: [], length: 0 };
}

function push(m: Msg, ...chunks: Uint8Array[]): Msg {
  for (const c of chunks) {
    m.parts.push(c);
    m.length += c.length;
  }
  return m;
}

const key = (field: number, wire: 0 | 1 | 2 | 5) => varint(field * 8 + wire);

function intField(m: Msg, field: number, value: number): Msg {
  return push(m, key(field, 0), int64(value));
}

function bytesField(m: Msg, field: number, value: Uint8Array): Msg {
  return push(m, key(field, 2), varint(value.length), value);
}

function stringField(m: Msg, field: number, value: string): Msg {
  return bytesField(m, field, utf8.encode(value));
}

function msgField(m: Msg, field: number, child: Msg): Msg {
  push(m, key(field, 2), varint(child.length));
  for (const p of child.parts) push(m, p);
  return m;
}

function floatField(m: Msg, field: number, value: number): Msg {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setFloat32(0, value, true);
  return push(m, key(field, 5), b);
}

/** onnx TensorProto.DataType values used here. */
export const DataType = { FLOAT: 1, INT64: 7, BOOL: 9 } as const;

/** A dimension: a fixed size or a symbolic name (batch, rows, …). */
export type Dim = number | string;

export interface ValueInfo {
  name: string;
  elemType: number;
  dims: Dim[];
}

export interface Initializer {
  name: string;
  dims: number[];
  /** Float32 (or int64: shapes, split sizes) data; its bytes are stored little-endian as raw_data. */
  data: Float32Array | BigInt64Array;
}

export type AttrValue = number | string | number[] | { float: number } | Graph;

export interface Node {
  opType: string;
  /** Its name in the graph (default `${graph name}/${opType}_${index}`); profiles report nodes by it. */
  name?: string;
  inputs: string[];
  outputs: string[];
  domain?: string;
  attributes?: Record<string, AttrValue>;
}

export interface Graph {
  name: string;
  nodes: Node[];
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  initializers?: Initializer[];
}

export interface Model {
  graph: Graph;
  /** Opset per domain; "" is the default ONNX domain. */
  opsets: Record<string, number>;
}

function valueInfo(v: ValueInfo): Msg {
  const shape = msg();
  for (const d of v.dims) {
    const dim = typeof d === "number" ? intField(msg(), 1, d) : stringField(msg(), 2, d);
    msgField(shape, 1, dim);
  }
  const tensorType = msgField(intField(msg(), 1, v.elemType), 2, shape);
  const type = msgField(msg(), 1, tensorType);
  return msgField(stringField(msg(), 1, v.name), 2, type);
}

function tensor(t: Initializer): Msg {
  const m = msg();
  for (const d of t.dims) intField(m, 1, d);
  intField(m, 2, t.data instanceof BigInt64Array ? DataType.INT64 : DataType.FLOAT);
  stringField(m, 8, t.name);
  return bytesField(m, 9, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
}

const isGraph = (v: AttrValue): v is Graph => typeof v === "object" && !Array.isArray(v) && "nodes" in v;

// AttributeProto.AttributeType: FLOAT=1, INT=2, STRING=3, GRAPH=5, INTS=7.
function attribute(name: string, v: AttrValue): Msg {
  const m = stringField(msg(), 1, name);
  if (typeof v === "number") return intField(intField(m, 3, v), 20, 2);
  if (typeof v === "string") return intField(stringField(m, 4, v), 20, 3);
  if (Array.isArray(v)) {
    for (const i of v) intField(m, 8, i);
    return intField(m, 20, 7);
  }
  if (isGraph(v)) return intField(msgField(m, 6, graph(v)), 20, 5);
  return intField(floatField(m, 2, v.float), 20, 1);
}

function node(n: Node, name: string): Msg {
  const m = msg();
  for (const i of n.inputs) stringField(m, 1, i);
  for (const o of n.outputs) stringField(m, 2, o);
  stringField(m, 3, name);
  stringField(m, 4, n.opType);
  for (const [k, v] of Object.entries(n.attributes ?? {})) msgField(m, 5, attribute(k, v));
  if (n.domain) stringField(m, 7, n.domain);
  return m;
}

function graph(g: Graph): Msg {
  const m = msg();
  // (a subgraph's node names are prefixed with its graph's: names stay unique across a Loop and its body)
  g.nodes.forEach((n, i) => msgField(m, 1, node(n, n.name ?? `${g.name}/${n.opType}_${i}`)));
  stringField(m, 2, g.name);
  for (const t of g.initializers ?? []) msgField(m, 5, tensor(t));
  for (const v of g.inputs) msgField(m, 11, valueInfo(v));
  for (const v of g.outputs) msgField(m, 12, valueInfo(v));
  return m;
}

/** Serialises a model (IR version 8) to the bytes InferenceSession.loadModel accepts. */
export function encodeModel(model: Model): Uint8Array {
  const m = intField(msg(), 1, 8);
  stringField(m, 2, "openr1-ts");
  msgField(m, 7, graph(model.graph));
  for (const [domain, version] of Object.entries(model.opsets)) {
    const op = domain ? stringField(msg(), 1, domain) : msg();
    msgField(m, 8, intField(op, 2, version));
  }
  const out = new Uint8Array(m.length);
  let offset = 0;
  for (const p of m.parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}
