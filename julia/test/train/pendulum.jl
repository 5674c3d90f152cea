# The Pendulum trainers (julia/src/train/pendulum.jl); included by runtests.jl.

@testset "train: pendulum (the blog's setup) lowers its loss" begin
    rng = MersenneTwister(0)
    Random.seed!(0)
    # The mean window loss on fixed start states falls after two episodes.
    params = Pendulum.PendulumParams(variant = "gymjl2019")
    layers = Policies.weights(Policies.pendulum_policy())
    starts = vcat([Pendulum.reset_state(params, rng)' for _ in 1:2]...)
    probes = vcat([Pendulum.reset_state(params, rng)' for _ in 1:8]...)
    probe_loss(ls) = Train.pendulum_window(Policies.load_weights!(Policies.pendulum_policy(), ls), probes, 20, params)[1]
    result = Train.train_pendulum(layers, starts, zeros(0, 2), Config.PendulumConfig(variant = "gymjl2019"))
    @test all(isfinite, result["losses"]) && length(result["losses"]) == 2 * 50  # 200 steps in the preset's 4-step windows
    @test probe_loss(result["weights"]) < probe_loss(layers)
    # The clip matches PyTorch's clip_grad_norm_.
    grads = (a = [3.0, 4.0], b = nothing)
    @test Train.clip_global_norm!(grads, 1.0) === grads  # scaled in place, as clip_grad_norm_
    @test grads.a ≈ [3.0, 4.0] ./ (5.0 + 1e-6) && grads.b === nothing

    # pendulum_returns: one return a row, each the sum of the episode's rewards.
    model = Policies.load_weights!(Policies.pendulum_policy(), layers)
    returns = Train.pendulum_returns(model, probes[1:3, :], 10, params)
    s, total = probes[3, :], 0.0
    for _ in 1:10
        s, r, _ = Pendulum.step(params, s, Train.torque(params, model(Pendulum.observe(params, s))[1]))
        total += r
    end
    @test length(returns) == 3 && returns[3] == total
    # Each round's score is the mean return over the evaluation rows.
    config = Config.PendulumConfig(variant = "gymjl2019", steps = 8)
    one = Train.train_pendulum(layers, starts[1:1, :], probes, config)
    trained = Policies.load_weights!(Policies.pendulum_policy(), one["weights"])
    @test one["scores"] ≈ [sum(Train.pendulum_returns(trained, probes, 8, params)) / 8]
    # Each round's bookkeeping: B episodes of `steps` steps a round; `on_episode` after each round.
    rounds = Ref(0)
    batched = Train.train_pendulum(layers, reshape(starts, 2, 1, 2), probes, config;  # E×B×2 = 2×1×2
                                   on_episode = r -> (rounds[] += 1; false))
    @test batched["episodes"] == [1, 2] && batched["env_steps"] == [8, 16] && rounds[] == 2
    two = Train.train_pendulum(layers, permutedims(cat(starts, starts; dims = 3), (1, 3, 2)), probes, config)  # E×B×2 = 2×2×2
    @test two["episodes"] == [2, 4] && two["env_steps"] == [16, 32] && issorted(two["wall_time"])
    wild = Train.train_pendulum(layers, starts, probes, Config.PendulumConfig(variant = "gymnasium", learning_rate = 1e300, steps = 40))
    @test startswith(wild["diverged"], "update 2 diverged: its ") && length(wild["losses"]) == 1
    @test_throws ArgumentError Train.pendulum_window_gradient(layers, probes, 4; loss = "nope")
end

@testset "train: analytic policy gradient (Pendulum-v1)" begin
    rng = MersenneTwister(1)
    # decay_gradient: the identity forward, the gradient scaled by the factor.
    x = [0.3, -1.2]
    @test Train.decay_gradient(x, 0.25) === x
    @test Zygote.gradient(y -> sum(Train.decay_gradient(y, 0.25) .* [2.0, 3.0]), x)[1] == [0.5, 0.75]
    params = Pendulum.PendulumParams()
    Random.seed!(2)  # Flux's initialisation draws from the default stream
    layers = Policies.weights(Policies.pendulum_policy())
    batches = permutedims(cat([vcat([Pendulum.reset_state(params, rng)' for _ in 1:8]...) for _ in 1:12]...; dims = 3), (3, 1, 2))
    probes = vcat([Pendulum.reset_state(params, rng)' for _ in 1:8]...)
    probe_loss(ls) = Train.apg_loss(Policies.load_weights!(Policies.pendulum_policy(), ls), probes, 40, params, 1.0)
    result = Train.train_pendulum_apg(layers, batches, probes, Config.APGConfig(horizon = 40, evaluate_every = 6))
    @test length(result["losses"]) == 12 && length(result["scores"]) == 2 && all(isfinite, result["losses"])
    @test probe_loss(result["weights"]) < probe_loss(layers)
    trained = Policies.load_weights!(Policies.pendulum_policy(), result["weights"])
    @test result["scores"][end] ≈ sum(Train.apg_returns(trained, probes, 200, params)) / 8
    @test length(Train.apg_returns(trained, probes[1:2, :], 5, params)) == 2
    # Each evaluation's bookkeeping: B episodes of `horizon` steps an update; `true` from on_episode stops.
    @test result["episodes"] == [6 * 8, 12 * 8] && result["env_steps"] == [6 * 8 * 40, 12 * 8 * 40]
    @test length(result["wall_time"]) == 2 && issorted(result["wall_time"])
    stopped = Train.train_pendulum_apg(layers, batches, probes, Config.APGConfig(horizon = 10, evaluate_every = 2); on_episode = r -> true)
    @test length(stopped["losses"]) == 2 && stopped["episodes"] == [16]
    @test_throws ArgumentError Config.APGConfig(gradient_decay = 0.0)
    @test_throws ArgumentError Train.train_pendulum_apg(layers, probes, probes)
end
