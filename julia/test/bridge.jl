# DPRL.Bridge (julia/src/bridge.jl, Julia functions inside torch.autograd); included by runtests.jl.

@testset "bridge: names, batches, Zygote and ForwardDiff agree" begin
    found = DPRL.Bridge.resolve("Trebuchet.shoot", DPRL)
    @test found.found && found.f === Trebuchet.shoot && found.fullname == "DPRL.Trebuchet.shoot"
    missing_name = DPRL.Bridge.resolve("Trebuchet.shot", DPRL)
    @test !missing_name.found && missing_name.missing == "shot" && "shoot" in missing_name.names
    @test DPRL.Bridge.argnames(Trebuchet.shoot, 3) == ["wind", "angle_deg", "weight_lb"]
    # A batch of pendulum steps: state rows (B×2) and torques (B), as Python passes them.
    rng = MersenneTwister(16)
    states, actions = [2 .* rand(rng, 5) .- 1 2 .* rand(rng, 5) .- 1], 2 .* rand(rng, 5) .- 1
    args, core, batch = (states, actions), (1, 0), (5,)
    zy = DPRL.Bridge.forward(Pendulum.step, args, core, batch, "zygote", (true, true); variant = "gymjl2019")
    fd = DPRL.Bridge.forward(Pendulum.step, args, core, batch, "forwarddiff", (true, true); variant = "gymjl2019")
    stepped = [Pendulum.step(states[i, :], actions[i]; variant = "gymjl2019") for i in 1:5]
    @test zy.outputs[1] ≈ vcat([s[1]' for s in stepped]...) && zy.outputs[2] ≈ [s[2] for s in stepped]
    cotangents = (randn(rng, 5, 2), randn(rng, 5), nothing)
    gz, gf = DPRL.Bridge.backward(zy, cotangents), DPRL.Bridge.backward(fd, cotangents)
    @test gz[1] ≈ gf[1] && gz[2] ≈ gf[2]
    # An argument passed whole to every call gets the gradient summed over the batch.
    whole = DPRL.Bridge.forward((x, w) -> sum(x .* w), (states, [1.0, 2.0]), (1, nothing), batch, "zygote", (true, true))
    @test DPRL.Bridge.backward(whole, (ones(5),))[2] ≈ vec(sum(states; dims = 1))
    # Errors carry the batch index.
    bad = try
        DPRL.Bridge.forward(Trebuchet.shoot, ([0.0, 0.0], [45.0, 95.0], [200.0, 200.0]), (0, 0, 0), (2,), "none", (true, true, true))
    catch err
        err
    end
    @test bad isa DPRL.Bridge.SampleError && bad.index == (2,) && bad.error isa ArgumentError
end

@testset "bridge: forward mode, the first failing sample, scalars as 0-d arrays" begin
    fd = DPRL.Bridge.forward((x, a) -> x .* a, ([1.0 2.0; 3.0 4.0], [2.0, 3.0]), (1, 0), (2,), "forwarddiff", (true, true))
    ṫ = DPRL.Bridge.pushforward(fd, ([1.0 0.0; 0.0 1.0], [1.0, 0.0]))
    # d(x .* a) = ẋ .* a + x .* ȧ: row 1 [1, 0] * 2 + [1, 2] * 1 = [3, 2]; row 2 [0, 1] * 3 + 0 = [0, 3]
    @test ṫ[1] ≈ [3.0 2.0; 0.0 3.0]
    @test_throws ArgumentError DPRL.Bridge.pushforward(DPRL.Bridge.forward(sum, ([1.0],), nothing, (), "zygote", (true,)), ([1.0],))
    # the first failing sample in batch order is reported, with where it threw
    bad = try
        DPRL.Bridge.forward(x -> x > 2 ? error("big") : x, (collect(1.0:12.0),), (0,), (12,), "none", (true,))
    catch err
        err
    end
    @test bad isa DPRL.Bridge.SampleError && bad.index == (3,) && bad.backtrace !== nothing
    @test DPRL.Bridge.forward(sum, ([1.0f0, 2.0f0],), nothing, (), "none", (true,)).outputs[1] isa Array{Float32, 0}
    @test_throws ArgumentError DPRL.Bridge.forward(sin, (zeros(0),), (0,), (0,), "none", (true,))
end
