# The CartPole trainer (julia/src/train/cartpole.jl); included by runtests.jl.

@testset "train: straight-through sign" begin
    @test Train.ste_sign(-0.3) == -1.0
    @test Zygote.gradient(x -> 3 * Train.ste_sign(x), 0.2)[1] == 3.0
end

@testset "train: cartpole trains and evaluates" begin
    rng = MersenneTwister(1)
    Random.seed!(1)
    params = CartPole.CartPoleParams()
    layers = Policies.weights(Policies.cartpole_policy())
    starts = vcat([CartPole.reset_state(params, rng)' for _ in 1:3]...)
    result = Train.train_cartpole(layers, starts, starts, Config.CartPoleConfig(max_steps = 200, solved_score = 195.0))
    @test all(isfinite, result["losses"]) && length(result["scores"]) >= 1
    @test length(result["episode_lengths"]) == length(result["scores"])
    # Each evaluation's bookkeeping, as Python's TrainingResult.record: episodes, environment steps
    # trained so far (the episodes' lengths added up) and seconds since training began.
    @test result["episodes"] == 1:length(result["scores"])
    @test result["env_steps"] == cumsum(result["episode_lengths"])
    @test issorted(result["wall_time"]) && all(>(0), result["wall_time"]) && !haskey(result, "diverged")

    # on_episode gets the result so far after each episode; `true` stops there.
    seen = Dict{String, Any}[]
    stopped = Train.train_cartpole(layers, starts, starts, Config.CartPoleConfig(max_steps = 200, solved_score = 1e9);
                                   on_episode = r -> (push!(seen, deepcopy(r)); length(seen) == 2))
    @test length(seen) == 2 && length(stopped["scores"]) == 2 && seen[2]["losses"] == stopped["losses"]
    @test seen[1]["episode_lengths"] == stopped["episode_lengths"][1:1] && seen[2]["weights"] == stopped["weights"]

    # checked_update!: no step at a non-finite loss; a step that makes a weight non-finite is undone.
    model = Policies.load_weights!(Policies.cartpole_policy(), layers)
    opt_state, kept = Train.Flux.setup(Train.Flux.Descent(1.0), model), Policies.weights(model)
    grads = Train.Flux.gradient(m -> sum(m(starts[1, :])), model)[1]
    @test Train.checked_update!(opt_state, model, grads, NaN, 3, kept) == "update 3 diverged: its loss is nan"
    @test Policies.weights(model) == layers
    @test Train.checked_update!(opt_state, model, grads, 1.0, 4, kept) === nothing && Policies.weights(model) != layers
    stepped = Policies.weights(model)
    huge = Train.Flux.setup(Train.Flux.Descent(Inf), model)
    @test Train.checked_update!(huge, model, grads, 1.0, 5, kept) == "update 5 diverged: its step made a weight non-finite"
    @test Policies.weights(model) == stepped

    # An update whose loss or weights are not finite stops the run there, naming it; the weights stay finite.
    wild = Train.train_cartpole(layers, starts, starts, Config.CartPoleConfig(learning_rate = 1e308, max_steps = 200))
    @test startswith(wild["diverged"], "update ") && occursin("diverged", wild["diverged"])
    @test all(((w, b),) -> all(isfinite, w) && all(isfinite, b), wild["weights"]) && all(isfinite, wild["losses"])

    # cartpole_returns: one return a row, each the episode's length under the sign of the policy.
    model = Policies.load_weights!(Policies.cartpole_policy(), layers)
    returns = Train.cartpole_returns(model, starts, 30, params)
    @test length(returns) == 3 && all(r -> 1 <= r <= 30, returns)
    s, steps = starts[2, :], 0
    while steps < 30
        s, _, done = CartPole.step(params, s, sign(model(s)[1]))
        steps += 1
        done && break
    end
    @test returns[2] == steps

    g = Train.cartpole_window_gradient(layers, starts[1, :], 4)
    @test g["loss"] ≈ first(Train.cartpole_window(model, starts[1, :], 4, params)) && length(g["state"]) == 4
    @test [size(w) for (w, _) in g["weights"]] == [size(w) for (w, _) in layers]
end
