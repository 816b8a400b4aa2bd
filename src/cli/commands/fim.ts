/** `fimaq fim`: the paper's Figure 1 on a model (pipeline/fim.ts), written as a PNG. */
import { resolve } from 'node:path';
import { PNG } from 'pngjs';
import { openDataset } from '../../data/open.js';
import { writeFileAtomic } from '../../io/atomic-write.js';
import { loadCheckpoint } from '../../io/checkpoint-node.js';
import { checkOutputs } from '../../io/output-paths.js';
import { type ClassTokenSummary, fimBlocks, fisherPicture } from '../../pipeline/fim.js';
import { seededIndices } from '../../quant/calibration-set.js';
import { checkBits } from '../../util/pack.js';
import { FimaqError } from '../../util/errors.js';
import { TOOL_VERSION, adapterJson, calibSpecOf, print, resolveModelPath, unlabelled, withContext } from '../common.js';
import { type OptionName, type Values, checkApplicable, integerOption, positiveInt, seedOption } from '../options.js';
import { dataInput, modelInputs } from '../output-guard.js';
import { Progress } from '../progress.js';

export async function commandFim(values: Values, given: Set<OptionName>): Promise<void> {
  checkApplicable(given, ['model', 'calib', 'out', 'block', 'channels', 'rank', 'bits', 'calib-size', 'seed'], () => 'does not apply to fimaq fim (see fimaq --help)');
  const modelPath = resolveModelPath(values.model);
  if (!values.out) throw new FimaqError('--out is required (the PNG to write)');
  const calibSpec = calibSpecOf(values, 'the images to average over');
  // Written once, atomically, at the end: no checkpoint to share, so no lock.
  checkOutputs([{ path: values.out, option: '--out', extension: '.png', what: 'a PNG picture' }], [...modelInputs(modelPath), ...dataInput(calibSpec, '--calib')]);
  const ckpt = await loadCheckpoint(modelPath);
  const cfg = ckpt.config;
  // Blocks in model order (a Swin's counted across its stages).
  const blocks = fimBlocks(cfg);
  const block = integerOption(values.block, 'block', Math.min(1, blocks.length - 1), 0, blocks.length - 1);
  const { name: blockName, tokens, width } = blocks[block]!;
  const channels = positiveInt(values.channels, 'channels', Math.min(64, width));
  if (channels > width) throw new FimaqError(`--channels ${channels} exceeds the width ${width} of ${blockName}`);
  const rank = positiveInt(values.rank, 'rank', 5);
  const bits = positiveInt(values.bits, 'bits', 4);
  checkBits(bits, '--bits');
  const seed = seedOption(values.seed);
  const data = await openDataset(calibSpec, cfg.preprocess, unlabelled(cfg));
  const indices = seededIndices(data.count, positiveInt(values['calib-size'], 'calib-size', 256), seed);
  const batch = await data.batch(indices);
  const out = resolve(values.out);
  await withContext(values, async (ctx) => {
    const progress = new Progress('fim');
    const r = await fisherPicture(ctx, { checkpoint: ckpt, pixels: batch.pixels, count: indices.length, block, channels, rank, bits, toolVersion: TOOL_VERSION }, (done, total) => progress.update(done, total));
    const png = new PNG({ width: r.picture.width, height: r.picture.height });
    png.data = Buffer.from(r.picture.rgba);
    await writeFileAtomic(out, PNG.sync.write(png));
    const json = {
      command: 'fim', model: modelPath, block, channels, rank, bits, images: indices.length, output: out,
      panels: r.panels,
      relative_frobenius_error: { diagonal: r.errors.diag, low_rank: r.errors.lowRank, dplr: r.errors.dplr },
      // The loss's own terms from one snapshot, ḡ = mean |g|: diag(ḡ), ḡḡᵀ and their sum, best non-negative scales.
      loss_terms_relative_frobenius_error: { diagonal: r.lossTermErrors.diag, low_rank: r.lossTermErrors.lowRank, dplr: r.lossTermErrors.dplr },
      mean_abs_grad_cosine_with_top_eigenvectors: r.topVectorCosines,
      // eig-fim's own matrix, diag d + UΛUᵀ from F's top eigenpairs over the whole block output.
      eig_fim_relative_frobenius_error: { slice: r.eigLoss.sliceError, full_output: r.eigLoss.fullError },
      eig_fim_captured_trace_share: r.eigLoss.capturedShare,
      class_token_grad_channel_mean_ratio: r.classToken?.channelMeanRatio ?? null,
      class_token_grad_share: r.classToken?.absShare ?? null,
      class_token_grad_square_share: r.classToken?.squareShare ?? null,
      eig_fim_class_token_share: r.classToken?.eigenShare ?? null,
      block_name: blockName,
      tokens,
      adapter: adapterJson(ctx.adapter),
    };
    const e = r.errors;
    const t = r.lossTermErrors;
    print(
      values,
      json,
      `block ${block} (${blockName}), ${cfg.family === 'swin' ? 'first token' : 'class token'} channels 0..${channels - 1}, ${indices.length} images, W${bits}A${bits}\nrelative Frobenius error: diagonal ${e.diag.toFixed(3)}, rank ${rank} ${e.lowRank.toFixed(3)}, DPLR ${e.dplr.toFixed(3)}\nthe loss's terms (ḡ = mean |g|, best scales): diag(ḡ) ${t.diag.toFixed(3)}, ḡḡᵀ ${t.lowRank.toFixed(3)}, both ${t.dplr.toFixed(3)}\n|cos| of ḡ with F's top ${rank} eigenvectors: ${r.topVectorCosines.map((c) => c.toFixed(3)).join(' ')}\neig-fim's matrix (diag d + top ${rank} eigenpairs of F over the whole output, ${(100 * r.eigLoss.capturedShare).toFixed(1)} % of its trace): ${r.eigLoss.sliceError.toFixed(3)} on the slice, ${r.eigLoss.fullError.toFixed(3)} over the whole output${classTokenLine(r.classToken, tokens)}\nwrote ${out} (panels: empirical FIM, diagonal, rank ${rank}, DPLR)`,
    );
  });
}

/** A ViT's class-token gradient statistics, as a line of the report (none for a Swin). */
function classTokenLine(c: ClassTokenSummary | null, tokens: number): string {
  if (!c) return '';
  return `\nclass token: largest |mean over channels| / rms of a gradient ${c.channelMeanRatio.toExponential(1)}; share (of ${tokens} tokens) of Σ|g| ${c.absShare.toFixed(3)}, of Σg² ${c.squareShare.toFixed(3)}, of eig-fim's ΛU ${c.eigenShare.toFixed(3)}`;
}
