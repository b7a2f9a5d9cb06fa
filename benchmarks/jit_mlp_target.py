"""The MLP target of issue 11 alone (jit / hand-written <= 1.02), with many interleaved
repeats, since the two differ by less than this machine's noise:
``PYTHONPATH=$PWD python benchmarks/jit_mlp_target.py [repeats]``."""

if __name__ == "__main__":
    import sys

    import admodes as ad
    from admodes.bench import problems
    from admodes.bench.report import limit_threads
    from admodes.bench.timing import interleaved, ratio_stats

    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 41
    prob = problems.mlp_problem()
    args = (prob.params, prob.X, prob.Y)
    jit = ad.jit(ad.value_and_grad(problems.mlp_loss))
    jit(*args)
    ctx, how = limit_threads(1)
    with ctx:
        s = interleaved({"jit": lambda: jit(*args),
                         "numpy": lambda: problems.mlp_loss_and_grad_numpy(*args)},
                        repeats=repeats, min_time=0.05)
    print(f"BLAS threads: {how}; MLP 784-256-10, batch 256, {repeats} interleaved repeats")
    print("jit / hand-written:", ratio_stats(s["jit"], s["numpy"]).fmt(""))
