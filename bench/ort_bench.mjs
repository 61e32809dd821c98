// ONNX Runtime side of compare.py: runs the exported image and text models with
// onnxruntime-node on the same inputs and rows as lclip-bench, prints JSON lines.
//
//   node bench/ort_bench.mjs SPEC.json
//
// SPEC: {mode: "time"|"verify", image_onnx, text_onnx, inputs (lclip-bench --emit-inputs dir),
//        image_size, context, threads: [1, 2], rows: [{row, kind, batch, items}],
//        min_reps, max_reps, min_time, verify_out}
// Texts are fed as the token ids lclip-bench wrote, each batch cut to its longest text
// (padding after the end token cannot change a causal model's pooled output).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';

const spec = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const emit = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');
const now = () => Number(process.hrtime.bigint()) / 1e9;

function readI32(name) {
  const buf = readFileSync(join(spec.inputs, name));
  return new Int32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
}

const texts = { captions: readI32('captions.i32'), text77: readI32('text77.i32') };

// Token ids of texts [first, first + n) as an int64 [n, L] tensor, L = the longest text.
function tokenTensor(kind, first, n) {
  const all = texts[kind], ctx = spec.context;
  const lengths = [];
  for (let i = first; i < first + n; i++) {
    let best = 0;
    for (let j = 1; j < ctx; j++) if (all[i * ctx + j] > all[i * ctx + best]) best = j;
    lengths.push(best + 1);
  }
  const L = Math.max(...lengths);
  const data = new BigInt64Array(n * L);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < L; j++) data[i * L + j] = BigInt(all[(first + i) * ctx + j]);
  return new ort.Tensor('int64', data, [n, L]);
}

function pixelTensor(n) {
  const size = spec.image_size, plane = 3 * size * size;
  const data = new Float32Array(n * plane);
  let x = 0x9e3779b9 >>> 0;
  for (let i = 0; i < data.length; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    data[i] = ((x >>> 8) / 16777216) * 3.9 - 1.8;
  }
  return new ort.Tensor('float32', data, [n, 3, size, size]);
}

async function open(path, threads) {
  return ort.InferenceSession.create(path, {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
}

async function run(session, input) {
  const feeds = { [session.inputNames[0]]: input };
  const out = await session.run(feeds);
  return out[session.outputNames[0]];
}

async function verify() {
  const image = await open(spec.image_onnx, 2), text = await open(spec.text_onnx, 2);
  const size = spec.image_size, plane = 3 * size * size;
  const buf = readFileSync(join(spec.inputs, 'image_pixels.f32'));
  const pixels = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
  const n = pixels.length / plane;
  let out = await run(image, new ort.Tensor('float32', Float32Array.from(pixels), [n, 3, size, size]));
  writeFileSync(join(spec.verify_out, 'ort_image_embeds.f32'), Buffer.from(out.data.buffer));
  for (const kind of ['captions', 'text77']) {
    const count = texts[kind].length / spec.context, chunks = [];
    for (let i = 0; i < count; i += 32) {
      out = await run(text, tokenTensor(kind, i, Math.min(32, count - i)));
      chunks.push(Buffer.from(out.data.buffer));
    }
    writeFileSync(join(spec.verify_out, `ort_${kind}_embeds.f32`), Buffer.concat(chunks));
  }
  emit({ type: 'verify', impl: 'ort', version: ort.env.versions.common });
}

async function time() {
  const pixels = pixelTensor(Math.max(...spec.rows.filter((r) => r.kind === 'image').map((r) => r.batch), 1));
  for (const threads of spec.threads) {
    const image = await open(spec.image_onnx, threads), text = await open(spec.text_onnx, threads);
    for (const r of spec.rows) {
      // inputs prepared outside the timed region, as lclip-bench's pixels are
      let calls;
      if (r.kind === 'image') {
        const n = r.batch, size = spec.image_size;
        const data = pixels.data.subarray(0, n * 3 * size * size);
        calls = [[image, new ort.Tensor('float32', data, [n, 3, size, size])]];
      } else {
        calls = [];
        for (let i = 0; i < r.items; i += r.batch) calls.push([text, tokenTensor(r.kind, i, Math.min(r.batch, r.items - i))]);
      }
      const once = async () => { for (const [s, input] of calls) await run(s, input); };
      await once(); // warm-up
      const reps = [];
      const start = now();
      while (reps.length < spec.max_reps && (reps.length < spec.min_reps || now() - start < spec.min_time)) {
        const t0 = now();
        await once();
        reps.push(now() - t0);
      }
      const sorted = [...reps].sort((a, b) => a - b), m = sorted.length;
      const med = m % 2 ? sorted[(m - 1) / 2] : 0.5 * (sorted[m / 2 - 1] + sorted[m / 2]);
      emit({
        type: 'row', impl: 'ort', row: r.row, batch: r.batch, threads, items: r.items, reps: m,
        ms_per_item: (1e3 * med) / r.items, ms_per_item_min: (1e3 * sorted[0]) / r.items,
        items_per_s: r.items / med, rep_ms: reps.map((x) => +(1e3 * x).toFixed(3)),
      });
    }
    await image.release();
    await text.release();
  }
  // VmHWM: maxRSS (getrusage) survives exec, so it would show compare.py's own peak
  const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  emit({ type: 'rss', impl: 'ort', peak_rss_mib: hwm ? +hwm[1] / 1024 : null, version: ort.env.versions.common });
}

await (spec.mode === 'verify' ? verify() : time());
