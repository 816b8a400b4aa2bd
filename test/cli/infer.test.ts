/** `fimaq infer` on PNG files written from Fashion-MNIST test images, float and integer engines. */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { FASHION_MNIST_DIR } from '../../src/data/open.js';
import { parseIdx } from '../../src/data/idx.js';
import { runCli } from '../helpers/cli.js';

const COUNT = 8;

/** The first test images as 8-bit grey PNGs in <dir>/images (two of them in a subfolder), with their labels. */
function writeImages(dir: string): { files: string[]; labels: number[] } {
  const images = parseIdx(gunzipSync(readFileSync(join(FASHION_MNIST_DIR, 't10k-images-idx3-ubyte.gz'))), 'images').data as Uint8Array;
  const labels = parseIdx(gunzipSync(readFileSync(join(FASHION_MNIST_DIR, 't10k-labels-idx1-ubyte.gz'))), 'labels').data as Uint8Array;
  mkdirSync(join(dir, 'images', 'more'), { recursive: true });
  const files: string[] = [];
  for (let i = 0; i < COUNT; i++) {
    const png = new PNG({ width: 28, height: 28, colorType: 0, inputColorType: 0, bitDepth: 8 });
    for (let p = 0; p < 28 * 28; p++) {
      const v = images[i * 784 + p];
      png.data.set([v, v, v, 255], p * 4);
    }
    const file = join(dir, 'images', i < 6 ? '' : 'more', `img${i}.png`);
    writeFileSync(file, PNG.sync.write(png, { colorType: 0 }));
    files.push(file);
  }
  return { files, labels: Array.from(labels.subarray(0, COUNT)) };
}

describe('fimaq infer', () => {
  it('classifies image files and folders with the float model and the integer pipeline', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fimaq-infer-'));
    const { files, labels } = writeImages(dir);
    const float = await runCli(['infer', '--model', 'demo', '--images', join(dir, 'images'), '--top', '3', '--json']);
    expect(float.code, float.stderr).toBe(0);
    const out = JSON.parse(float.stdout);
    expect(out.engine).toBe('float');
    expect(out.results.map((r: { image: string }) => r.image)).toEqual(files);
    let correct = 0;
    out.results.forEach((r: { top: { class: number; label: string; probability: number }[] }, i: number) => {
      expect(r.top).toHaveLength(3);
      expect(r.top[0].probability).toBeGreaterThanOrEqual(r.top[1].probability);
      expect(r.top[1].probability).toBeGreaterThanOrEqual(r.top[2].probability);
      expect(r.top.reduce((a, t) => a + t.probability, 0)).toBeLessThanOrEqual(1 + 1e-9);
      if (r.top[0].class === labels[i]) correct++;
    });
    // The demo model is right on 89 % of the test set.
    expect(correct).toBeGreaterThanOrEqual(6);
    expect(out.results[1].top[0].label).toMatch(/^[A-Z]/);

    const q = join(dir, 'w8a8.safetensors');
    expect((await runCli(['quantize', '--model', 'demo', '--method', 'rtn', '--wbits', '8', '--abits', '8', '--calib-size', '8', '--out', q])).code).toBe(0);
    // Files listed one by one (the first after --images, the rest as arguments).
    const int = await runCli(['infer', '--model', q, '--images', files[0], ...files.slice(1, 4), '--json']);
    expect(int.code, int.stderr).toBe(0);
    const intOut = JSON.parse(int.stdout);
    expect(intOut.engine).toBe('int');
    // At 8 bits the integer model picks the float model's class.
    expect(intOut.results.map((r: { top: { class: number }[] }) => r.top[0].class)).toEqual(out.results.slice(0, 4).map((r: { top: { class: number }[] }) => r.top[0].class));
    expect(intOut.results[0].top).toHaveLength(5);
  }, 300_000);

  it('names the file or folder that is wrong', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fimaq-infer-'));
    writeFileSync(join(dir, 'bad.png'), 'not an image');
    mkdirSync(join(dir, 'empty'));
    for (const [args, pattern] of [
      [['--images', join(dir, 'missing.png')], /missing\.png: no such image file or folder/],
      [['--images', join(dir, 'bad.png')], /bad\.png: not a JPEG or PNG file/],
      [['--images', join(dir, 'empty')], /no \.jpg, \.jpeg or \.png images in .*empty/],
      [[], /--images is required/],
    ] as [string[], RegExp][]) {
      const r = await runCli(['infer', '--model', 'demo', ...args]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(pattern);
    }
  });
});
