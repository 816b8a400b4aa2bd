/** The text of `fimaq --help`: every command and option, kept true by test/cli/help.test.ts. */

export const HELP = `fimaq: FIMA-Q post-training quantization of Vision Transformers on WebGPU

Usage:
  fimaq eval --model <dir|demo|file.safetensors> --data <spec> [--limit N] [--batch B]
             [--engine int|fake|both] [--json]
      Top-1 (and top-5 when there are more than 5 classes) of a float model or of a quantized
      model file. Quantized files run on the integer pipeline (--engine int, the default: packed
      weight codes, integer matrix products) or as the method's fake-quant simulation (fake);
      both runs the two and reports on how many images their top-1 agrees and how far their
      logits differ.
  fimaq infer --model <dir|demo|file.safetensors> --images <file|folder> [more files] [--top 5]
              [--batch 32] [--json]
      Classifies JPEG/PNG images (folders are walked) with a float model or, for a quantized
      model file, the integer pipeline; prints each image's top classes and probabilities.
  fimaq quantize --model <dir|demo> --calib <spec> --out <file> [--method fimaq|diag-fim|lr-fim|brecq-fim|mse|calib|rtn]
                 [--wbits 4] [--abits 4] [--calib-size N] [--seed 3407] [--calib-indices <json>]
                 [--eval <spec> [--limit N]] [--json]
      Post-training quantization into one quantized-model file (default method: fimaq).
      --eval then prints the top-1 of the float model, the calibration-only model and the
      written file side by side (fake-quant evaluation on the first --limit images of <spec>).
        calib  the method's quantizer calibration search (with RepQ-ViT when wbits == abits),
               on --calib-size images (default 128)
        rtn    min/max round-to-nearest, no search
        mse    calibration search on the first --search-size images, then block-wise
               reconstruction (AdaRound, learnable activation scales, QDrop) with the output-MSE
               loss on --calib-size images: the method's QDrop* baseline
        fimaq  the same reconstruction with FIMA-Q's DPLR-FIM loss (Fisher snapshots of KL at
               temperature --temperature through the float rest of the model)
        diag-fim, lr-fim   its diagonal-only and low-rank-only ablations
        eig-fim    beyond the paper: diagonal plus the top-k eigenpairs of the empirical Fisher
                   matrix of the per-image gradients (randomized subspace iteration on the GPU),
                   refreshed on the snapshot schedule; the loss is divided by its first value
                   after each refresh, times 2
        brecq-fim  BRECQ's Fisher: each sample's squared gradient, computed once per unit
      Fisher options (fimaq, diag-fim, lr-fim; eig-fim takes --k, --dis-mode, --temperature,
      --eig-once and --eig-power; brecq-fim uses --temperature):
        --k 5 (snapshots, the rank)  --p1 1  --p2 1
        --temperature 20  --dis-mode q|qf (every iters/k steps, or the first k)
        --damping 1e-4 (added to the snapshot Gram matrix, relative to its mean diagonal)
        --eig-once   eig-fim: the eigenpairs once per unit, at its first step
        --eig-power 1  eig-fim: the loss's matrix is diag d^p + U Λ^p Uᵀ; 0.5 scales like the KL's
                     curvature H (the gradients are taken at the quantized point, F ≈ H E[ΔΔᵀ] H)
      Calibration images are the first --calib-size of a permutation drawn from --seed, or the
      indices listed in a JSON file. --calib defaults to fashion-mnist:train for the demo model.
      Reconstruction options (fimaq, diag-fim, lr-fim, eig-fim, brecq-fim, mse):
        --preset paper|quick   paper (default): 20000 iterations per unit, batch 32, 1024 images,
                               search on 128 with 128 candidates and 3 rounds; quick: 300
                               iterations of batch 8, 256 images, search on 8 with 32 candidates
                               and 1 round, learning rates x10 (the demo's reconstruction
                               takes about 4 minutes on a 2-core CPU without a GPU)
        --iters N  --batch N  --calib-size N  --search-size N  --search-candidates N
        --search-rounds N  --lr-round X (1e-3)
        --lr-scale X (4e-5, cosine-annealed)  --drop-prob P (0.5; 1 disables QDrop)
        --round-weight X (0.01)  --report-every N (loss read back every N iterations)
        --resume               continue an interrupted run from <out>.partial/ (checkpoints are
                               written after calibration and after each unit; every file in
                               it is checked against the run before use)
        --fresh                discard such a checkpoint and start over (without --resume or
                               --fresh, a run refuses to overwrite a resumable checkpoint)
      --reproduce <file>       rerun the quantization a file records (its method, bits, seed and
                               every setting; --model and, unless the file names Fashion-MNIST,
                               --calib [--calib-indices] give the same inputs, checked against
                               the file's digests) and report whether the result is
                               byte-identical (exit code 1 when it is not); --out keeps it
      --gpu-memory MiB         refuse to start when the run's estimated peak of GPU memory
                               (as fimaq info prints it) is larger; a run always refuses when
                               one of its buffers exceeds the adapter's largest storage binding
      --out must end in .safetensors and may not be one of the inputs; while a run writes it,
      <out>.lock names the process, and a second run with the same --out is refused.
      Options the chosen method does not use (e.g. --iters with --method calib) are errors.
  fimaq ablate --model <dir|demo> --calib <spec> --data <spec> [--methods calib,mse,brecq-fim,diag-fim,lr-fim,fimaq]
               [--bits 4,3] [--seeds 3407] [--limit N] [--record <file.json>]
               [reconstruction and Fisher options] [--json]
      The method's ablation: for each seed and bit width (W = A) one calibration search, shared
      by every method; each method's model is evaluated (fake-quant) on --data. Prints a markdown
      table of top-1 and of the mean KL(float || quantized) of the output distributions on the
      same images (mean over seeds, then each seed's value) and, with --json, one object with
      every run's top-1, KL, top-1 agreement with the float model and seconds. --record keeps
      every finished run in a JSON file (rewritten atomically after each run, locked while the
      command runs; each run with its date, source commit and adapter); run the same command
      again to skip the runs it holds, e.g. after an interruption. Reconstruction and Fisher
      options are part of the record whatever --methods holds, so that runs of other methods
      added later share them. --methods takes any quantize method but rtn (eig-fim too).
  fimaq fim --model <dir|demo> --calib <spec> --out <file.png> [--block 1] [--channels 64]
            [--rank 5] [--bits 4] [--calib-size 256] [--seed 3407] [--json]
      The paper's Figure 1 on this model: the empirical Fisher matrix of KL(T = 20) with one
      block quantized (calibrated, W = A = --bits; a Swin's blocks counted across its stages),
      over the first token's first --channels output channels (a ViT's class token) and --calib-size images, next to its diagonal, rank --rank and DPLR
      approximations, as one PNG (a shared blue-white-red scale); prints each approximation's
      relative Frobenius error, and that of the matrices FIMA-Q's loss terms amount to (built
      from the mean absolute gradient ḡ: diag(ḡ), ḡḡᵀ and their sum, at their best scales),
      |cos| of ḡ with the Fisher matrix's top eigenvectors, eig-fim's own matrix (diag d plus
      the top --rank eigenpairs of F over the block's whole output) on the slice and over the
      whole output, and for the class token's gradient its largest mean over channels relative
      to its rms and its share of all tokens' Σ|g|.
  fimaq info --model <dir|demo> [--method fimaq] [--preset paper|quick] [--calib-size N]
             [--search-size N] [--search-candidates N] [--batch N] [--k 5] [--wbits 4] [--abits 4]
             [--gpu-memory MiB] [--json]
      Architecture, parameter count, FLOPs per image and preprocessing of a model, and the GPU
      memory a quantize run with those settings allocates at its peak (calibration search and
      reconstruction apart, and where each peaks); with --gpu-memory, whether it fits.
  fimaq adapter [--json]
      The WebGPU adapter the engine would use.

Models: a folder with config.json and model.safetensors in timm / Hugging Face hub layout
  (vit_*, deit_* and swin_* architectures), or 'demo' for the embedded Fashion-MNIST ViT
  (demo/fashion-swin is a small Swin). A Swin runs through every command.
Data specs: fashion-mnist[:test|:train], mnist:<dir>[:test|:train], a folder of IDX files,
  or an image folder (<dir>/<class>/<image>.jpg|png, like torchvision's ImageFolder).

Common options:
  --adapter auto|swiftshader|system   Vulkan driver for Dawn in Node (default auto: the system's
                                      driver if one is installed, else SwiftShader on the CPU)
  --no-bounds-checks                  Node only: compile shaders without the bounds clamping Dawn
                                      adds to every buffer access (same results, about 1.5x faster
                                      on SwiftShader); the default on SwiftShader; reports name it
  --bounds-checks                     Node only: keep the clamping (the default on other adapters)
  --debug                             submit after every op and report WebGPU errors at once
  --json                              print one JSON object on stdout
  -h, --help                          this text
  --version                           the tool version
`;
