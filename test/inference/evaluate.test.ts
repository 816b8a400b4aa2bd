/** evaluate(): scores only meaningful data and model outputs, and says which image is wrong. */
import { describe, expect, it } from 'vitest';
import type { Batch, Dataset } from '../../src/data/dataset.js';
import { type Classifier } from '../../src/model/classifier.js';
import { evaluate, fidelityTo, top1Agreement } from '../../src/inference/evaluate.js';
import type { GpuContext, Tensor } from '../../src/runtime/context.js';
import { FimaqError } from '../../src/util/errors.js';
import { testContext } from '../helpers/gpu.js';

const CLASSES = 10;
const SHAPE = [1, 2, 2] as const;

/** Returns the chosen logits rows in order, one per image it is given. */
function fakeModel(ctx: GpuContext, rows: number[][]): Classifier {
  let next = 0;
  return {
    ctx,
    inputShape: SHAPE,
    numClasses: CLASSES,
    forward(images: Tensor): Tensor {
      const b = images.shape[0];
      const logits = Float32Array.from(rows.slice(next, next + b).flat());
      next += b;
      return ctx.upload(logits, [b, CLASSES], 'logits');
    },
  };
}

function fakeData(labels: number[]): Dataset {
  const description = `fake data (${labels.length} images)`;
  return {
    description,
    name: 'fake',
    count: labels.length,
    label: (i) => labels[i],
    async batch(indices: number[]): Promise<Batch> {
      return { pixels: new Float32Array(indices.length * 4), labels: Int32Array.from(indices, (i) => labels[i]) };
    },
  };
}

/** A logits row whose best class is `best`. */
const row = (best: number): number[] => Array.from({ length: CLASSES }, (_, c) => (c === best ? 5 : c / 10));

async function failure(p: Promise<unknown>): Promise<Error> {
  const err = await p.then(() => null, (e: unknown) => e as Error);
  expect(err).toBeInstanceOf(FimaqError);
  expect((err as Error).message).not.toContain('\n');
  return err as Error;
}

describe('evaluate', () => {
  it('scores finite logits against in-range labels', async () => {
    const ctx = await testContext();
    const r = await evaluate(fakeModel(ctx, [row(3), row(1), row(4), row(1)]), fakeData([3, 1, 0, 9]), { batchSize: 3 });
    expect(r.count).toBe(4);
    expect(r.top1).toBe(0.5);
    expect(r.top5).toBe(0.75); // label 9 is the second-best class of row(4); label 0 is last
    expect(Array.from(r.predictions)).toEqual([3, 1, 4, 1]);
  });

  it.each([
    ['NaN', NaN],
    ['Infinity', Infinity],
    ['-Infinity', -Infinity],
  ])('refuses %s logits, naming the image and the data set', async (name, value) => {
    const ctx = await testContext();
    const rows = [row(0), row(1), row(2), row(3), row(4)];
    rows[3] = rows[3].map((v, c) => (c === 7 ? value : v));
    const data = fakeData([0, 1, 2, 3, 4]);
    const err = await failure(evaluate(fakeModel(ctx, rows), data, { batchSize: 2 }));
    expect(err.message).toBe(`model output for image 3 of ${data.description} is ${name}: the model produced non-finite logits`);
  });

  it('refuses all-NaN logits, which used to score 100 %', async () => {
    const ctx = await testContext();
    const rows = [0, 1].map(() => Array<number>(CLASSES).fill(NaN));
    const err = await failure(evaluate(fakeModel(ctx, rows), fakeData([2, 5])));
    expect(err.message).toContain('model output for image 0 of fake data (2 images) is NaN');
  });

  it('reports bad logits without an unhandled failure from the batch decoded meanwhile', async () => {
    const ctx = await testContext();
    const data = fakeData([0, 1, 2]);
    const failing: Dataset = { ...data, batch: (indices) => (indices[0] === 0 ? data.batch(indices) : Promise.reject(new FimaqError('corrupt image'))) };
    const err = await failure(evaluate(fakeModel(ctx, [Array<number>(CLASSES).fill(NaN)]), failing, { batchSize: 1 }));
    expect(err.message).toContain('model output for image 0 of');
    await new Promise((r) => setTimeout(r, 10)); // let an unhandled rejection surface inside this test
  });

  it('refuses labels outside the model classes, which used to score 100 %', async () => {
    const ctx = await testContext();
    const err = await failure(evaluate(fakeModel(ctx, [row(0), row(0)]), fakeData([200, 200])));
    expect(err.message).toBe("label 200 of image 0 of fake data (2 images) is outside the model's 10 classes (0..9)");
    const at = await failure(evaluate(fakeModel(ctx, [row(0), row(0), row(0)]), fakeData([0, 1, 10])));
    expect(at.message).toContain('label 10 of image 2 of');
  });

  it('refuses an empty data set, unlabelled data and partly labelled data', async () => {
    const ctx = await testContext();
    expect((await failure(evaluate(fakeModel(ctx, []), fakeData([])))).message).toBe(
      'fake data (0 images) has no images; evaluation needs at least one labelled image',
    );
    expect((await failure(evaluate(fakeModel(ctx, [row(0), row(0)]), fakeData([-1, -1])))).message).toBe(
      'fake data (2 images) has no labels; evaluation needs labelled images (class folders or IDX labels)',
    );
    expect((await failure(evaluate(fakeModel(ctx, [row(0), row(0), row(0)]), fakeData([4, -1, -1])))).message).toBe(
      'image 1 of fake data (3 images) has no label; evaluation needs every image labelled (class folders or IDX labels)',
    );
  });

  it('checks labels only within the limit', async () => {
    const ctx = await testContext();
    const r = await evaluate(fakeModel(ctx, [row(2)]), fakeData([2, -1]), { limit: 1 });
    expect(r.top1).toBe(1);
  });

  it('compares two evaluations only when they cover the same images', async () => {
    const ctx = await testContext();
    const a = await evaluate(fakeModel(ctx, [row(1), row(2)]), fakeData([1, 2]), { keepLogits: true });
    const b = await evaluate(fakeModel(ctx, [row(1)]), fakeData([1]), { keepLogits: true });
    expect(fidelityTo(a, a, CLASSES).agreement).toBe(1);
    expect(() => top1Agreement(a, b)).toThrow('top1Agreement: needs two evaluations of the same images, got 2 and 1');
  });
});
