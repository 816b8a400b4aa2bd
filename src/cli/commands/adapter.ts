/** `fimaq adapter`: the WebGPU adapter the engine would use, and its features. */
import { adapterJson, describeAdapter, print, withContext } from '../common.js';
import { type OptionName, type Values, checkApplicable } from '../options.js';

export async function commandAdapter(values: Values, given: Set<OptionName>): Promise<void> {
  checkApplicable(given, [], () => 'does not apply to fimaq adapter (see fimaq --help)');
  await withContext(values, async (ctx) => {
    const json = { command: 'adapter', adapter: adapterJson(ctx.adapter), features: [...ctx.features].sort(), timing: ctx.features.has('timestamp-query') ? 'timestamp-query' : 'wall-clock' };
    print(values, json, `adapter: ${describeAdapter(ctx.adapter)}\nfeatures: ${json.features.join(', ')}`);
  });
}
