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
