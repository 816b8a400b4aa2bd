/**
 * Chooses the Vulkan driver for Dawn in Node before the first `create()`: Dawn reads
 * VK_ICD_FILENAMES from the real process environment once, so this must run on the main thread
 * (the CLI launcher and vitest.config.ts call it). When the machine has no Vulkan driver of its own,
 * Chromium's SwiftShader (a CPU implementation of Vulkan) is used, so the engine runs anywhere.
 */
import { existsSync, readdirSync } from 'node:fs';

export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
const SYSTEM_ICD_DIRS = ['/etc/vulkan/icd.d', '/usr/share/vulkan/icd.d', '/usr/local/share/vulkan/icd.d', '/usr/local/nvidia/share/vulkan/icd.d'];

function systemDrivers(): string[] {
  const found: string[] = [];
  for (const dir of SYSTEM_ICD_DIRS) {
    if (!existsSync(dir)) continue;
    for (const f of readdirSync(dir)) if (f.endsWith('.json') && !/lvp|lavapipe/.test(f)) found.push(`${dir}/${f}`);
  }
  return found;
}

export type AdapterChoice = 'auto' | 'swiftshader' | 'system';

/**
 * Sets VK_ICD_FILENAMES for the chosen adapter and returns a description of the choice.
 * `auto` keeps an explicit VK_ICD_FILENAMES/VK_DRIVER_FILES, else uses a system driver if one is
 * installed (Mesa's lavapipe excepted: Dawn rejects it), else SwiftShader.
 */
export function configureVulkanEnv(choice: AdapterChoice = 'auto', env: NodeJS.ProcessEnv = process.env): string {
  if (choice === 'system') return 'system Vulkan drivers';
  if (choice === 'auto' && (env.VK_ICD_FILENAMES || env.VK_DRIVER_FILES)) return 'VK_ICD_FILENAMES from the environment';
  if (choice === 'auto' && systemDrivers().length > 0) return 'system Vulkan drivers';
  if (existsSync(SWIFTSHADER_ICD)) {
    env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
    return 'SwiftShader (CPU)';
  }
  return 'no Vulkan driver found';
}

export const NO_ADAPTER_HINT =
  'install a GPU driver with Vulkan support, or the CPU fallback: apt-get install -y chromium libvulkan1 (it provides SwiftShader at ' +
  SWIFTSHADER_ICD +
  ')';
