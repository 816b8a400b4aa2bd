/** `fimaq eval`: top-1 / top-5 of a float checkpoint, or of a quantized file on the integer and/or fake-quant engine. */
import { openDataset } from '../../data/open.js';
import { uploadIntModel } from '../../inference/int-model.js';
import { type EvalResult, evaluate, top1Agreement } from '../../inference/evaluate.js';
import type { Classifier } from '../../model/classifier.js';
import type { ModelCheckpoint } from '../../model/checkpoint.js';
import { uploadFloatModel } from '../../model/float-model.js';
import { FakeQuantModel } from '../../quant/fake-quant-model.js';
import { FimaqError } from '../../util/errors.js';
import { adapterJson, describeAdapter, labelled, loadModel, print, resolveModelPath, withContext } from '../common.js';
import { type OptionName, type Values, checkApplicable, optionalPositiveInt, positiveInt } from '../options.js';
import { Progress } from '../progress.js';

const ENGINES = ['int', 'fake', 'both'] as const;

/**
 * Images whose top-1 class two engines agree on, and how far apart their logits are: per image,
 * the largest |a - b| over the classes relative to the image's largest |b|, summarised by its
 * median, 99th percentile and maximum (a code moved across a rounding boundary by float rounding
 * shows up as a rare large difference).
 */
function engineAgreement(a: EvalResult, b: EvalResult, classes: number) {
  let maxAbs = 0;
  const rel = new Float64Array(a.count);
  for (let i = 0; i < a.count; i++) {
    let diff = 0;
    let scale = 0;
    for (let c = 0; c < classes; c++) {
      const x = (a.logits as Float32Array)[i * classes + c];
      const y = (b.logits as Float32Array)[i * classes + c];
      diff = Math.max(diff, Math.abs(x - y));
      scale = Math.max(scale, Math.abs(y));
    }
    maxAbs = Math.max(maxAbs, diff);
    rel[i] = diff / scale;
  }
  rel.sort();
  const at = (q: number) => rel[Math.min(rel.length - 1, Math.floor(q * rel.length))];
  return { top1_agreement: top1Agreement(a, b), max_abs_logit_diff: maxAbs, rel_logit_diff: { median: at(0.5), p99: at(0.99), max: rel[rel.length - 1] } };
}

export async function commandEval(values: Values, given: Set<OptionName>): Promise<void> {
  checkApplicable(given, ['model', 'data', 'limit', 'batch', 'engine'], () => 'does not apply to fimaq eval (see fimaq --help)');
  const modelPath = resolveModelPath(values.model);
  if (!values.data) throw new FimaqError('--data is required (for example fashion-mnist:test)');
  const limit = optionalPositiveInt(values.limit, 'limit');
  const batchSize = positiveInt(values.batch, 'batch', 64);
  const engine = values.engine ?? 'int';
  if (!ENGINES.includes(engine as (typeof ENGINES)[number])) throw new FimaqError(`--engine must be one of ${ENGINES.join(', ')}, got '${engine}'`);
  const loaded = await loadModel(modelPath);
  if (!loaded.quantized && values.engine !== undefined) throw new FimaqError(`--engine applies to quantized-model files; ${modelPath} is a float checkpoint`);
  const data = await openDataset(values.data, loaded.config.preprocess, labelled(loaded.config));
  await withContext(values, async (ctx) => {
    const progress = new Progress('eval');
    const run = async (name: string, model: Classifier & { release(): void }) => {
      const r = await evaluate(model, data, { limit, batchSize, keepLogits: engine === 'both', onProgress: (d, t) => progress.update(d, t, name) });
      model.release();
      return r;
    };
    const q = loaded.quantized;
    const results: [string, EvalResult][] = [];
    if (!q) results.push(['float', await run('float', uploadFloatModel(ctx, loaded.float as ModelCheckpoint))]);
    if (q && engine !== 'fake') results.push(['int', await run('integer', uploadIntModel(ctx, q))]);
    if (q && engine !== 'int') results.push(['fake-quant', await run('fake-quant', FakeQuantModel.upload(ctx, q))]);
    const [name, r] = results[0];
    const info = q?.info;
    const agreement = results.length === 2 ? engineAgreement(results[0][1], results[1][1], loaded.config.numClasses) : null;
    const json = {
      command: 'eval',
      model: modelPath,
      data: data.description,
      engine: name,
      ...(info ? { method: info.method, wbits: info.wbits, abits: info.abits } : {}),
      count: r.count,
      top1: r.top1,
      top5: r.top5,
      seconds: r.seconds,
      images_per_second: r.count / r.seconds,
      batch: batchSize,
      ...(agreement ? { fake_quant: { top1: results[1][1].top1, top5: results[1][1].top5, seconds: results[1][1].seconds }, ...agreement } : {}),
      adapter: adapterJson(ctx.adapter),
    };
    const line = (label: string, x: EvalResult) => `${label}: ${x.count} images, top-1 ${(100 * x.top1).toFixed(2)}%${x.top5 === null ? '' : `, top-5 ${(100 * x.top5).toFixed(2)}%`} in ${x.seconds.toFixed(1)} s`;
    const lines = results.map(([n, x]) => line(`${data.description} (${n})`, x));
    if (agreement) {
      const r = agreement.rel_logit_diff;
      lines.push(
        `engines agree on the top-1 class of ${(100 * agreement.top1_agreement).toFixed(2)}% of images; logit difference relative to the image's largest logit: median ${r.median.toExponential(1)}, 99th percentile ${r.p99.toExponential(1)}, max ${r.max.toExponential(1)}`,
      );
    }
    print(values, json, `${lines.join('\n')}\nadapter: ${describeAdapter(ctx.adapter)}`);
  });
}
