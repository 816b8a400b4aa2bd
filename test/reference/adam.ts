/** Float64 reference of torch.optim.Adam's step (no weight decay, no amsgrad), as its documentation states it. */
export interface AdamRefState {
  param: Float64Array;
  m: Float64Array;
  v: Float64Array;
  step: number;
}

export function adamRefInit(param: ArrayLike<number>): AdamRefState {
  return { param: Float64Array.from(param), m: new Float64Array(param.length), v: new Float64Array(param.length), step: 0 };
}

/** Advances the state by one step with gradient g. */
export function adamRefStep(st: AdamRefState, g: ArrayLike<number>, lr: number, beta1 = 0.9, beta2 = 0.999, eps = 1e-8): void {
  st.step++;
  const bc1 = 1 - beta1 ** st.step;
  const bc2 = 1 - beta2 ** st.step;
  for (let i = 0; i < st.param.length; i++) {
    st.m[i] = beta1 * st.m[i] + (1 - beta1) * g[i];
    st.v[i] = beta2 * st.v[i] + (1 - beta2) * g[i] * g[i];
    const mHat = st.m[i] / bc1;
    const vHat = st.v[i] / bc2;
    st.param[i] -= (lr * mHat) / (Math.sqrt(vHat) + eps);
  }
}
