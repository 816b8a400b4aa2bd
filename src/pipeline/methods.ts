/** The quantize methods: calibration only, or calibration then reconstruction with one of its losses. */
import type { ReconMethod } from '../recon/reconstruct.js';

export const METHODS = ['fimaq', 'diag-fim', 'lr-fim', 'eig-fim', 'brecq-fim', 'mse', 'calib', 'rtn'] as const;
export type Method = (typeof METHODS)[number];
export const RECON_METHODS: readonly Method[] = ['fimaq', 'diag-fim', 'lr-fim', 'eig-fim', 'brecq-fim', 'mse'];
/** The methods whose loss is built from Fisher snapshots (k, p1, p2, dis-mode, damping apply). */
export const FISHER_METHODS: readonly Method[] = ['fimaq', 'diag-fim', 'lr-fim'];

export const isReconMethod = (m: Method): m is ReconMethod => RECON_METHODS.includes(m);
