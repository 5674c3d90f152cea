# The aimer trainer (julia/src/train/trebuchet.jl); included by runtests.jl.

@testset "train: the aimer lowers its loss" begin
    rng = MersenneTwister(0)
    Random.seed!(0)  # Flux's default initialisation draws from the global stream: seed it, so this cannot flake
    # A few passes over 10 shots lower their mean squared miss.
    layers = Policies.weights(Policies.aimer_policy())
    winds, targets = 5 .* randn(rng, 10), 20 .+ 80 .* rand(rng, 10)
    before = Train.aimer_loss(Policies.load_weights!(Policies.aimer_policy(), layers), winds, targets)
    trained = layers
    for _ in 1:5
        trained = Train.train_aimer(trained, winds, targets, Config.AimerConfig(learning_rate = 0.05, batch_size = 5))["weights"]
    end
    after = Train.aimer_loss(Policies.load_weights!(Policies.aimer_policy(), trained), winds, targets)
    @test after < before
end

@testset "train: the aimer's updates, evaluations and metrics" begin
    rng = MersenneTwister(5)
    Random.seed!(5)
    layers = Policies.weights(Policies.aimer_policy())
    winds, targets = Trebuchet.shots(rng, 12)
    seen = Int[]
    report(update, weights) = (push!(seen, update); length(weights) == 4 && update >= 4)
    # One pass is 6 updates of 2 shots; max_updates stops at 5; evaluations at 0, every 2 and the last.
    result = Train.train_aimer(layers, winds, targets, Config.AimerConfig(batch_size = 2, max_updates = 5, evaluate_every = 2))
    @test length(result["losses"]) == 5 && isempty(result["evaluated_at"])  # no on_evaluation: no calls
    result = Train.train_aimer(layers, winds, targets, Config.AimerConfig(batch_size = 2, max_updates = 5, evaluate_every = 3);
                               on_evaluation = (u, w) -> (push!(seen, u); false))
    @test seen == [0, 3, 5] && result["evaluated_at"] == [0, 3, 5] && length(result["wall_time"]) == 3
    empty!(seen)
    result = Train.train_aimer(layers, winds, targets, Config.AimerConfig(batch_size = 2, evaluate_every = 2); on_evaluation = report)
    @test seen == [0, 2, 4] && length(result["losses"]) == 4  # `true` stops the training
    @test length(Train.train_aimer(layers, winds, targets, Config.AimerConfig(batch_size = 5))["losses"]) == 3  # one pass, cld(12, 5)
    @test_throws ArgumentError Train.train_aimer(layers, winds, targets[1:3])

    # misses/evaluate: the network's aims, thrown and scored by the Trebuchet module.
    model = Policies.load_weights!(Policies.aimer_policy(), layers)
    aims = [Train.aim(model, w, t) for (w, t) in zip(winds, targets)]
    miss, landed = Train.misses(model, winds, targets)
    @test (miss, landed) == Trebuchet.throw_misses(winds, targets, first.(aims), last.(aims))
    @test Train.evaluate(model, winds, targets) == Trebuchet.miss_metrics(miss, landed, targets)
    scaled = Train.misses(model, winds, targets; scaled = true)
    @test scaled[1] != miss  # the scaled aim is another aim
end
