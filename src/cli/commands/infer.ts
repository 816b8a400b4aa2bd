/** `fimaq infer`: classify image files with a float model or, for a quantized file, the integer pipeline. */
import { existsSync, statSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeImage } from '../../data/decode.js';
import { preprocessInto } from '../../data/preprocess.js';
import { uploadIntModel } from '../../inference/int-model.js';
import type { ModelCheckpoint } from '../../model/checkpoint.js';
import { uploadFloatModel } from '../../model/float-model.js';
import { FimaqError } from '../../util/errors.js';
import { adapterJson, loadModel, print, resolveModelPath, withContext } from '../common.js';
import { type OptionName, type Values, checkApplicable, positiveInt } from '../options.js';

const IMAGE_FILE = /\.(jpe?g|png)$/i;

/** The image files named on the command line: files as given, folders walked (sorted) for .jpg/.jpeg/.png. */
async function imageFiles(items: string[]): Promise<string[]> {
  const files: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const path = join(dir, e.name);
      if (e.isDirectory()) await walk(path);
      else if (IMAGE_FILE.test(e.name)) files.push(path);
    }
  };
  for (const item of items) {
    if (!existsSync(item)) throw new FimaqError(`${item}: no such image file or folder`);
    if (statSync(item).isDirectory()) await walk(item);
    else files.push(item);
  }
  if (files.length === 0) throw new FimaqError(`no .jpg, .jpeg or .png images in ${items.join(', ')}`);
  return files;
}

export async function commandInfer(values: Values, given: Set<OptionName>, extra: string[]): Promise<void> {
  checkApplicable(given, ['model', 'images', 'top', 'batch'], () => 'does not apply to fimaq infer (see fimaq --help)');
  const modelPath = resolveModelPath(values.model);
  const items = [...(values.images ?? []), ...extra];
  if (items.length === 0) throw new FimaqError('--images is required (image files or folders)');
  const loaded = await loadModel(modelPath);
  const cfg = loaded.config;
  const top = Math.min(positiveInt(values.top, 'top', 5), cfg.numClasses);
  const batchSize = positiveInt(values.batch, 'batch', 32);
  const files = await imageFiles(items);
  const names = cfg.labelNames ?? Array.from({ length: cfg.numClasses }, (_, i) => String(i));
  const [c, h, w] = cfg.preprocess.inputSize;
  const size = c * h * w;
  await withContext(values, async (ctx) => {
    const model = loaded.quantized ? uploadIntModel(ctx, loaded.quantized) : uploadFloatModel(ctx, loaded.float as ModelCheckpoint);
    const results: { image: string; top: { class: number; label: string; probability: number }[] }[] = [];
    for (let from = 0; from < files.length; from += batchSize) {
      const batch = files.slice(from, from + batchSize);
      const pixels = new Float32Array(batch.length * size);
      for (let i = 0; i < batch.length; i++) {
        preprocessInto(await decodeImage(new Uint8Array(await readFile(batch[i])), batch[i]), cfg.preprocess, pixels, i * size);
      }
      const images = ctx.upload(pixels, [batch.length, c, h, w], 'images');
      const logitsT = model.forward(images);
      const logits = await ctx.read(logitsT);
      logitsT.release();
      images.release();
      batch.forEach((image, i) => {
        const row = Array.from(logits.subarray(i * cfg.numClasses, (i + 1) * cfg.numClasses));
        const max = Math.max(...row);
        const exp = row.map((v) => Math.exp(v - max));
        const sum = exp.reduce((a, b) => a + b, 0);
        const order = exp.map((_, k) => k).sort((a, b) => exp[b] - exp[a] || a - b);
        results.push({ image, top: order.slice(0, top).map((k) => ({ class: k, label: names[k], probability: exp[k] / sum })) });
      });
    }
    model.release();
    const json = { command: 'infer', model: modelPath, engine: loaded.quantized ? 'int' : 'float', results, adapter: adapterJson(ctx.adapter) };
    const text = results.map((r) => `${r.image}: ${r.top.map((t) => `${t.label} ${(100 * t.probability).toFixed(1)}%`).join(', ')}`);
    print(values, json, text.join('\n'));
  });
}
