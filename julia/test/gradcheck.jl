# DPRL.Gradcheck (julia/src/gradcheck.jl, the forward-mode and second-order half of `dprl gradcheck`);
# included by runtests.jl.

@testset "gradcheck: JVPs and Hessian-vector products against ForwardDiff's Jacobian and Hessian" begin
    rng = MersenneTwister(25)
    # A batch of pendulum steps, as Python passes them: state rows (B×2), torques (B).
    states, actions = [2 .* rand(rng, 4) .- 1 2 .* rand(rng, 4) .- 1], 2 .* rand(rng, 4) .- 1
    ts, ta = randn(rng, 4, 2), randn(rng, 4)
    jvp = DPRL.Gradcheck.jvp(Pendulum.step, (states, actions), (1, 0), (4,), (ts, ta); variant = "gymjl2019")
    for i in 1:4
        J = ForwardDiff.jacobian(p -> Pendulum.step(p[1:2], p[3]; variant = "gymjl2019")[1], [states[i, :]; actions[i]])
        @test jvp[1][i, :] ≈ J * [ts[i, :]; ta[i]]
        @test jvp[3][i] == 0.0  # `done`, a Bool: no tangent
    end
    # Unbatched, several arguments, a scalar output: the Hessian of L = w·f along v.
    f(x, y) = sum(x .^ 2 .* y) + prod(x)
    x, y, vx, vy = randn(rng, 3), randn(rng, 3), randn(rng, 3), randn(rng, 3)
    H = ForwardDiff.hessian(p -> 1.5 * f(p[1:3], p[4:6]), [x; y])
    for mode in ("zygote", "forwarddiff")
        hv = DPRL.Gradcheck.hvp(f, (x, y), nothing, (), (1.5,), (vx, vy), mode)
        @test [hv[1]; hv[2]] ≈ H * [vx; vy]
    end
    @test DPRL.Gradcheck.jvp(f, (x, y), nothing, (), (vx, vy))[1] ≈ ForwardDiff.gradient(p -> f(p[1:3], p[4:6]), [x; y])' * [vx; vy]
    # An argument passed whole to every call: its Hessian-vector product sums over the batch.
    g(s, w) = sum(s .* w)^2
    hv = DPRL.Gradcheck.hvp(g, (states, [1.0, 2.0]), (1, nothing), (4,), (ones(4),), (zeros(4, 2), [1.0, 0.0]), "zygote")
    @test hv[2] ≈ sum(2 .* states[i, :] .* states[i, 1] for i in 1:4)
end
