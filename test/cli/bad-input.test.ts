/**
 * Regression tests for the failures an outside probe of bad inputs found (issue [E8]): outputs
 * that would overwrite an input, accuracies computed from invalid data with exit code 0, image
 * folders whose labels ignored the model, and options that were misread or silently ignored.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, linkSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { DEMO_MODEL_DIR } from '../../src/cli/common.js';
import { FASHION_MNIST_DIR } from '../../src/data/open.js';
import { parseIdx } from '../../src/data/idx.js';
import { checkpointToSafetensors } from '../../src/io/checkpoint-file.js';
import { loadCheckpoint } from '../../src/io/checkpoint-node.js';
import { expectOneLineError, runCli } from '../helpers/cli.js';
import { makeIdx } from '../data/helpers.js';

const CALIB = ['--calib', 'fashion-mnist:train'];

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'fimaq-bad-'));
}

function demoCopy(): string {
  const dir = join(tempDir(), 'model');
  mkdirSync(dir);
  for (const f of ['config.json', 'model.safetensors']) copyFileSync(join(DEMO_MODEL_DIR, f), join(dir, f));
  return dir;
}

const digest = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');


describe('an output never replaces an input', () => {
  it('quantize, fim and ablate refuse outputs that are their inputs, by path, symbolic link or hard link', async () => {
    const model = demoCopy();
    const weights = join(model, 'model.safetensors');
    const config = join(model, 'config.json');
    const before = [digest(weights), digest(config)];
    const dir = tempDir();
    symlinkSync(weights, join(dir, 'link.safetensors'));
    linkSync(weights, join(dir, 'hard.safetensors'));
    const input = /is the --model input .*model\.safetensors; writing it would destroy or change the input/;
    for (const [args, pattern] of [
      [['quantize', '--model', model, ...CALIB, '--method', 'calib', '--out', weights], input],
      [['quantize', '--model', model, ...CALIB, '--method', 'calib', '--out', join(model, '..', 'model', 'model.safetensors')], input],
      [['quantize', '--model', model, ...CALIB, '--method', 'calib', '--out', join(dir, 'link.safetensors')], input],
      [['quantize', '--model', model, ...CALIB, '--method', 'calib', '--out', join(dir, 'hard.safetensors')], input],
      [['ablate', '--model', model, ...CALIB, '--data', 'fashion-mnist', '--record', config], /--record .*config\.json: is the --model input/],
    ] as [string[], RegExp][]) {
      expectOneLineError(await runCli(args), pattern);
    }
    expect([digest(weights), digest(config)]).toEqual(before);
  });

  it('the written file must have the extension of what is written', async () => {
    const model = demoCopy();
    const weights = join(model, 'model.safetensors');
    const before = digest(weights);
    expectOneLineError(await runCli(['fim', '--model', model, ...CALIB, '--out', weights]), /--out .*model\.safetensors: must end in \.png \(the command writes a PNG picture\)/);
    expectOneLineError(await runCli(['quantize', '--model', model, ...CALIB, '--method', 'calib', '--out', join(model, 'config.json')]), /must end in \.safetensors/);
    expectOneLineError(await runCli(['ablate', '--model', model, ...CALIB, '--data', 'fashion-mnist', '--record', join(model, 'runs.txt')]), /--record .*runs\.txt: must end in \.json/);
    expect(digest(weights)).toBe(before);
  });

  it('refuses an --out whose checkpoint folder (deleted at the end) would hold an input, or that lies in a data folder', async () => {
    const dir = tempDir();
    const partial = join(dir, 'q.safetensors.partial');
    mkdirSync(partial);
    const model = join(partial, 'model');
    mkdirSync(model);
    for (const f of ['config.json', 'model.safetensors']) copyFileSync(join(DEMO_MODEL_DIR, f), join(model, f));
    expectOneLineError(
      await runCli(['quantize', '--model', model, ...CALIB, '--method', 'mse', '--out', join(dir, 'q.safetensors')]),
      /q\.safetensors\.partial \(the checkpoint folder of --out\) would hold the --model input .*and the command deletes that folder/,
    );
    expect(existsSync(join(model, 'model.safetensors'))).toBe(true);
    expectOneLineError(
      await runCli(['quantize', '--model', 'demo', '--calib', FASHION_MNIST_DIR, '--method', 'calib', '--out', join(FASHION_MNIST_DIR, 'q.safetensors')]),
      /lies inside .*fashion-mnist, the --calib data the command reads/,
    );
    expectOneLineError(await runCli(['quantize', '--model', 'demo', '--method', 'calib', '--out', join(dir, 'missing', 'q.safetensors')]), /folder .*missing does not exist/);
  });
});

describe('no figure from invalid data', () => {
  it('a model whose logits overflow is an error, not 100 % top-1', async () => {
    const ckpt = await loadCheckpoint(DEMO_MODEL_DIR);
    ckpt.weights.set('head.weight', new Float32Array(ckpt.weights.get('head.weight')!.length).fill(3e38));
    const model = demoCopy();
    writeFileSync(join(model, 'model.safetensors'), checkpointToSafetensors(ckpt));
    expectOneLineError(await runCli(['eval', '--model', model, '--data', 'fashion-mnist:test', '--limit', '8']), /model output for image 0 of fashion-mnist test .* is (NaN|Infinity|-Infinity): the model produced non-finite logits/);
  });

  it('a model with a NaN weight is refused when it loads, naming the tensor', async () => {
    const ckpt = await loadCheckpoint(DEMO_MODEL_DIR);
    ckpt.weights.get('blocks.2.mlp.fc1.weight')![17] = NaN;
    const model = demoCopy();
    writeFileSync(join(model, 'model.safetensors'), checkpointToSafetensors(ckpt));
    expectOneLineError(await runCli(['info', '--model', model]), /model\.safetensors: tensor 'blocks\.2\.mlp\.fc1\.weight' has a non-finite value \(NaN\) at index 17/);
  });

  it('IDX labels outside the model classes, an empty data set and unlabelled images are errors', async () => {
    const dir = tempDir();
    const images = Uint8Array.from({ length: 5 * 784 }, (_, i) => (i * 37) % 256);
    writeFileSync(join(dir, 't10k-images-idx3-ubyte'), makeIdx([5, 28, 28], images));
    writeFileSync(join(dir, 't10k-labels-idx1-ubyte'), makeIdx([5], [200, 200, 200, 200, 200]));
    expectOneLineError(await runCli(['eval', '--model', 'demo', '--data', `mnist:${dir}`]), /t10k-labels-idx1-ubyte: label 200 of image 0 is outside the model's 10 classes \(0\.\.9\)/);

    const empty = tempDir();
    writeFileSync(join(empty, 't10k-images-idx3-ubyte'), makeIdx([0, 28, 28], []));
    writeFileSync(join(empty, 't10k-labels-idx1-ubyte'), makeIdx([0], []));
    expectOneLineError(await runCli(['eval', '--model', 'demo', '--data', `mnist:${empty}`]), /has no images; evaluation needs at least one labelled image/);

    const flat = tempDir();
    const png = new PNG({ width: 28, height: 28 });
    png.data.fill(200);
    writeFileSync(join(flat, 'a.png'), PNG.sync.write(png));
    expectOneLineError(await runCli(['eval', '--model', 'demo', '--data', flat]), /has no class folders, so its images have no labels/);
  });

  it('class folders are read by class index or label name, whatever their sorted position', async () => {
    const gz = readFileSync(join(FASHION_MNIST_DIR, 't10k-images-idx3-ubyte.gz'));
    const images = parseIdx(gunzipSync(gz), 'images');
    const labels = parseIdx(gunzipSync(readFileSync(join(FASHION_MNIST_DIR, 't10k-labels-idx1-ubyte.gz'))), 'labels');
    /** Four test images of `cls` as PNGs in `<root>/<folder>/`. */
    const writeClass = (root: string, folder: string, cls: number) => {
      mkdirSync(join(root, folder), { recursive: true });
      let n = 0;
      for (let i = 0; n < 4; i++) {
        if (labels.data[i] !== cls) continue;
        const png = new PNG({ width: 28, height: 28, colorType: 0 });
        for (let p = 0; p < 784; p++) png.data.set([images.data[i * 784 + p], images.data[i * 784 + p], images.data[i * 784 + p], 255], 4 * p);
        writeFileSync(join(root, folder, `${i}.png`), PNG.sync.write(png, { colorType: 0 }));
        n++;
      }
    };
    // Sorted positions 0, 1, 2 would be T-shirt, Trouser, Pullover: every label wrong.
    const named = tempDir();
    writeClass(named, 'Bag', 8);
    writeClass(named, 'Sneaker', 7);
    writeClass(named, 'trouser', 1);
    const byName = await runCli(['eval', '--model', 'demo', '--data', named, '--json']);
    expect(byName.code, byName.stderr).toBe(0);
    expect(JSON.parse(byName.stdout)).toMatchObject({ count: 12 });
    expect(JSON.parse(byName.stdout).top1).toBeGreaterThan(0.8);
    const indexed = tempDir();
    writeClass(indexed, '8', 8);
    writeClass(indexed, '7', 7);
    writeClass(indexed, '1', 1);
    const byIndex = await runCli(['eval', '--model', 'demo', '--data', indexed, '--json']);
    expect(JSON.parse(byIndex.stdout).top1).toBe(JSON.parse(byName.stdout).top1);

    writeClass(named, 'Hats', 0);
    expectOneLineError(await runCli(['eval', '--model', 'demo', '--data', named]), /class folder 'Hats' is neither a class index \(0\.\.9\) nor one of the model's label names/);
    const twelve = tempDir();
    for (let c = 0; c < 12; c++) writeClass(twelve, String(c), c % 10);
    expectOneLineError(await runCli(['eval', '--model', 'demo', '--data', twelve]), /has 12 class folders but the model has 10 classes/);
  });
});

describe('options', () => {
  it('negative numbers, empty and oversized seeds, and options a method does not use are clear errors', async () => {
    const out = join(tempDir(), 'q.safetensors');
    for (const [args, pattern] of [
      [['quantize', '--model', 'demo', '--abits', '-1', '--out', out], /--abits must be a positive integer, got '-1'/],
      [['quantize', '--model', 'demo', '--seed', '', '--out', out], /--seed must be an integer from 0 to 4294967295, got ''/],
      [['quantize', '--model', 'demo', '--seed', '4294967296', '--out', out], /--seed must be an integer from 0 to 4294967295, got '4294967296'/],
      [['quantize', '--model', 'demo', '--seed', '1e3', '--out', out], /--seed must be an integer/],
      [['ablate', '--model', 'demo', '--data', 'fashion-mnist', '--seeds', '1,4294967296'], /--seeds: '4294967296' is not an integer from 0 to 4294967295/],
      [['quantize', '--model', 'demo', '--method', 'calib', '--iters', '5', '--out', out], /--iters is a reconstruction option .*--method calib does not use it/],
      [['quantize', '--model', 'demo', '--method', 'calib', '--preset', 'bogus', '--out', out], /--preset is a reconstruction option .*--method calib does not use it/],
      [['quantize', '--model', 'demo', '--method', 'mse', '--k', '3', '--out', out], /--k is a Fisher option .*--method mse does not use it/],
      [['quantize', '--model', 'demo', '--limit', '10', '--out', out], /--limit applies only with --eval/],
      [['quantize', '--model', 'demo', '--resume', '--fresh', '--out', out], /give one of them/],
      [['ablate', '--model', 'demo', '--data', 'fashion-mnist', '--engine', 'int'], /--engine does not apply to fimaq ablate/],
      [['eval', '--model', 'demo', '--data', 'fashion-mnist', '--iters', '5'], /--iters does not apply to fimaq eval/],
      [['quantize', '--model', 'demo', '--method', 'mse', '--search-candidates', '8', '--out', out], /--search-candidates must be a multiple of 16 at 4 bits/],
      [['fim', '--model', 'demo', '--out', join(tempDir(), 'f.png'), '--block', ''], /--block must be an integer from 0 to 3, got ''/],
    ] as [string[], RegExp][]) {
      expectOneLineError(await runCli(args), pattern);
    }
    expect(existsSync(out)).toBe(false);
  });
});
