# DPRL.Config (julia/src/config.jl); included by runtests.jl.

"""The message of the ArgumentError that `f()` throws (a test fails when it throws none)."""
function argument_error(f)
    try
        f()
    catch err
        err isa ArgumentError && return err.msg
        rethrow()
    end
    return "no error"
end

@testset "config: defaults, fields and checks" begin
    @test Config.AimerConfig() == Config.AimerConfig(1e-3, 1, false, nothing, nothing, 100)
    @test fieldnames(Config.AimerConfig) == (:learning_rate, :batch_size, :scaled, :max_updates, :time_budget, :evaluate_every)
    @test fieldnames(Config.CartPoleConfig) == (:learning_rate, :window, :max_steps, :solved_score)
    @test fieldnames(Config.PendulumConfig) == (:variant, :window, :learning_rate, :loss, :max_grad_norm, :steps)
    @test fieldnames(Config.APGConfig) == (:horizon, :learning_rate, :max_grad_norm, :gradient_decay, :evaluate_every)
    @test all(isconcretetype, fieldtypes(Config.CartPoleConfig)) && isbitstype(Config.APGConfig)
    @test argument_error(() -> Config.AimerConfig(1e-3, 0, false, nothing, nothing, 100)) == "batch_size must be a whole number ≥ 1; got 0"
    @test Config.AimerConfig(batch_size = 4, max_updates = 2).batch_size == 4
    @test Config.AimerConfig(learning_rate = 1).learning_rate === 1.0  # numbers as the trainers use them
    @test argument_error(() -> Config.AimerConfig(batch_size = 0)) == "batch_size must be a whole number ≥ 1; got 0"
    @test argument_error(() -> Config.AimerConfig(batch_size = 2.0)) == "batch_size must be a whole number ≥ 1; got 2.0"
    @test startswith(argument_error(() -> Config.AimerConfig(learning_rate = NaN)), "learning_rate must be a number above 0, finite")
    @test startswith(argument_error(() -> Config.AimerConfig(time_budget = -1.0)), "time_budget must be")
    @test startswith(argument_error(() -> Config.AimerConfig(scaled = 1)), "scaled must be true or false")
    @test startswith(argument_error(() -> Config.CartPoleConfig(solved_score = NaN)), "solved_score must be a number")
    @test Config.CartPoleConfig(solved_score = Inf).solved_score == Inf
    @test startswith(argument_error(() -> Config.PendulumConfig(variant = "gym")), "variant must be one of (\"gymjl2019\", \"gymnasium\")")
    @test startswith(argument_error(() -> Config.PendulumConfig(loss = "costs")), "loss must be one of")
    @test Config.PendulumConfig(max_grad_norm = Inf).max_grad_norm == Inf  # Inf: no clipping
    @test argument_error(() -> Config.PendulumConfig(max_grad_norm = 0)) == "max_grad_norm must be a number above 0 (Inf: none); got 0"
    @test startswith(argument_error(() -> Config.APGConfig(gradient_decay = 0.0)), "gradient_decay must be in (0, 1]")
    @test Config.APGConfig(gradient_decay = 1).gradient_decay == 1.0
    @test startswith(argument_error(() -> Config.APGConfig(horizon = 0)), "horizon must be")
end

@testset "config: pendulum presets" begin
    @test keys(Config.PENDULUM_PRESETS) == (:gymjl2019, :gymnasium)  # Python's order
    for (variant, preset) in pairs(Config.PENDULUM_PRESETS)
        resolved = Config.resolve_preset(Config.PendulumConfig(variant = String(variant)))
        @test (resolved.window, resolved.learning_rate, resolved.loss, resolved.max_grad_norm) ==
              (preset.window, preset.learning_rate, preset.loss, preset.max_grad_norm)
        @test preset.loss in Config.PENDULUM_LOSSES && preset.batch >= 1
    end
    # A setting given is kept; only those left as `nothing` come from the preset.
    resolved = Config.resolve_preset(Config.PendulumConfig(variant = "gymjl2019", window = 7, steps = 50))
    @test resolved == Config.PendulumConfig(variant = "gymjl2019", window = 7, learning_rate = 0.03, loss = "cost2", max_grad_norm = Inf, steps = 50)
end
