/** Which graph a timm config.json describes: the ViT / DeiT parser or the Swin parser, by architecture name. */
import { type VitConfig, parseVitConfig } from './config.js';
import { architectureName, parseConfigJson } from './config-fields.js';
import { type SwinConfig, parseSwinConfig } from './swin-config.js';

export type ModelConfig = VitConfig | SwinConfig;

export function parseModelConfig(text: string, source: string): ModelConfig {
  const { name } = architectureName(parseConfigJson(text, source), source);
  return name.startsWith('swin_') ? parseSwinConfig(text, source) : parseVitConfig(text, source);
}
