using Test
using DPRL
using DPRL: Trebuchet, CartPole, Pendulum, Policies, Train
using ForwardDiff
using Zygote
using Random

"""Central differences of a scalar function of a vector."""
function central_difference(f, x, steps)
    return [(f(x .+ steps[i] .* (1:length(x) .== i)) - f(x .- steps[i] .* (1:length(x) .== i))) / (2 * steps[i]) for i in eachindex(x)]
end

@testset "DPRL" begin
    @testset "trebuchet: the blog's point" begin
        result = Trebuchet.launch(-2.0, 45.0, 200.0)
        @test result.status == Trebuchet.LANDED
        @test isapprox(result.distance, 74.7284; atol = 1e-3)
        @test isapprox(result.liftoff_time, 0.25; atol = 1e-12)
        @test isapprox(result.release_time, 0.5755; atol = 1e-3)
        distance, g = Trebuchet.shoot_gradient(-2.0, 45.0, 200.0)
        @test abs(g[1] - 4.02) <= 0.005
        @test abs(g[2] + 0.99) <= 0.005
        @test 0.0505 <= g[3] <= 0.0525
    end

    @testset "trebuchet: ForwardDiff against finite differences" begin
        rng = MersenneTwister(2019)
        for _ in 1:5
            p = [20 * rand(rng) - 10, 60 * rand(rng) + 15, 350 * rand(rng) + 50]
            _, g = Trebuchet.shoot_gradient(p...)
            fd = central_difference(q -> Trebuchet.shoot(q...), p, [1e-5, 1e-5, 1e-4])
            @test isapprox(g, fd; rtol = 1e-5, atol = 1e-9)
        end
        # Lift-off between grid points: the event time carries a derivative.
        _, g = Trebuchet.shoot_gradient(3.0, 40.0, 180.0)
        fd = central_difference(q -> Trebuchet.shoot(q...), [3.0, 40.0, 180.0], [1e-5, 1e-5, 1e-4])
        @test isapprox(g, fd; rtol = 1e-5, atol = 1e-9)
    end

    @testset "trebuchet: Zygote through forwarddiff" begin
        g = Zygote.gradient(p -> Trebuchet.shoot_differentiable(p[1], p[2], p[3]), [-2.0, 45.0, 200.0])[1]
        _, expected = Trebuchet.shoot_gradient(-2.0, 45.0, 200.0)
        @test isapprox(g, expected; rtol = 1e-12)
    end

    @testset "trebuchet: bad inputs" begin
        @test_throws ArgumentError Trebuchet.shoot(NaN, 45.0, 200.0)
        @test_throws ArgumentError Trebuchet.shoot(-2.0, 95.0, 200.0)
        @test_throws ArgumentError Trebuchet.shoot(-2.0, 45.0, -1.0)
        # Finite but far outside the physical ranges (the distance would be NaN): refused, as in PyTorch.
        @test_throws ArgumentError Trebuchet.shoot(1e200, 45.0, 200.0)
        @test_throws ArgumentError Trebuchet.shoot(-2.0, 45.0, 1e7)
        @test Trebuchet.launch(-Trebuchet.WIND_LIMIT, 45.0, 200.0).status isa Integer
        @test Trebuchet.launch(0.0, 45.0, 8.0).status == Trebuchet.TOO_LIGHT
    end

    @testset "cartpole" begin
        params = CartPole.CartPoleParams()
        state = [0.01, -0.02, 0.03, 0.04]
        next_state, reward, done = CartPole.step(params, state, 1.0)
        @test reward == 1.0 && !done
        @test next_state[1] ≈ 0.01 + 0.02 * -0.02  # positions move with the old velocities
        @test CartPole.is_done(params, [2.5, 0.0, 0.0, 0.0])
        @test CartPole.is_done(params, [0.0, 0.0, -0.21, 0.0])
        g = Zygote.gradient(a -> CartPole.step(params, state, a)[1][4], 1.0)[1]
        @test g ≈ ForwardDiff.derivative(a -> CartPole.step(params, state, a)[1][4], 1.0)
    end

    @testset "pendulum variants" begin
        state = [0.5, 1.0]
        gym, r_gym, _ = Pendulum.step(state, 5.0; variant = "gymnasium")
        old, r_old, _ = Pendulum.step(state, 5.0; variant = "gymjl2019")
        @test r_gym ≈ -(0.5^2 + 0.1 * 1.0 + 0.001 * 4.0)  # torque clipped to 2 in the cost
        @test r_old ≈ -(0.5^2 + 0.1 * 1.0 + 0.001 * 25.0)  # raw torque in the cost
        @test gym[2] < old[2] || gym[2] == 8.0
        @test Pendulum.angle_normalize(3pi / 2) ≈ -pi / 2
        @test Zygote.gradient(Pendulum.angle_normalize, 3pi / 2)[1] ≈ 1.0
        @test_throws ArgumentError Pendulum.step(state, 0.0; variant = "nope")
    end

    @testset "straight-through sign" begin
        @test Train.ste_sign(-0.3) == -1.0
        @test Zygote.gradient(x -> 3 * Train.ste_sign(x), 0.2)[1] == 3.0
    end

    @testset "policies round-trip weights" begin
        model = Policies.cartpole_policy()
        layers = Policies.weights(model)
        other = Policies.load_weights!(Policies.cartpole_policy(), layers)
        x = [0.1, 0.2, 0.3, 0.4]
        @test model(x) == other(x)
        @test_throws ArgumentError Policies.load_weights!(Policies.aimer_policy(), layers)
    end

    @testset "short training runs lower the loss" begin
        rng = MersenneTwister(0)
        Random.seed!(0)  # Flux's default initialisation draws from the global stream: seed it, so this cannot flake
        # Pendulum (the blog's setup): the mean window loss on fixed start states falls after two episodes.
        params = Pendulum.PendulumParams(variant = "gymjl2019")
        layers = Policies.weights(Policies.pendulum_policy())
        starts = vcat([Pendulum.reset_state(params, rng)' for _ in 1:2]...)
        probes = vcat([Pendulum.reset_state(params, rng)' for _ in 1:8]...)
        probe_loss(ls) = Train.pendulum_window(Policies.load_weights!(Policies.pendulum_policy(), ls), probes, 20, params)[1]
        result = Train.train_pendulum(layers, starts, zeros(0, 2); variant = "gymjl2019")
        @test all(isfinite, result["losses"])
        @test probe_loss(result["weights"]) < probe_loss(layers)
        # The clip matches PyTorch's clip_grad_norm_.
        clipped = Train.clip_global_norm((a = [3.0, 4.0], b = nothing), 1.0)
        @test clipped.a ≈ [3.0, 4.0] ./ (5.0 + 1e-6) && clipped.b === nothing

        # CartPole: trains, evaluates, and its losses are finite.
        layers = Policies.weights(Policies.cartpole_policy())
        starts = vcat([CartPole.reset_state(CartPole.CartPoleParams(), rng)' for _ in 1:3]...)
        result = Train.train_cartpole(layers, starts, starts; max_steps = 200, solved_score = 195.0)
        @test all(isfinite, result["losses"]) && length(result["scores"]) >= 1

        # Aimer: a few passes over 10 shots lower their mean squared miss.
        layers = Policies.weights(Policies.aimer_policy())
        winds, targets = 5 .* randn(rng, 10), 20 .+ 80 .* rand(rng, 10)
        before = Train.aimer_loss(Policies.load_weights!(Policies.aimer_policy(), layers), winds, targets)
        trained = layers
        for _ in 1:5
            trained = Train.train_aimer(trained, winds, targets; learning_rate = 0.05, batch_size = 5)["weights"]
        end
        after = Train.aimer_loss(Policies.load_weights!(Policies.aimer_policy(), trained), winds, targets)
        @test after < before
    end

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

    @testset "analytic policy gradient (Pendulum-v1)" begin
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
        result = Train.train_pendulum_apg(layers, batches, probes; horizon = 40, evaluate_every = 6)
        @test length(result["losses"]) == 12 && length(result["scores"]) == 2 && all(isfinite, result["losses"])
        @test probe_loss(result["weights"]) < probe_loss(layers)
        @test_throws ArgumentError Train.train_pendulum_apg(layers, batches, probes; gradient_decay = 0.0)
        @test_throws ArgumentError Train.train_pendulum_apg(layers, probes, probes)
    end
end

@testset "trebuchet: type-stable and allocation-free" begin
    # `launch` is the forward throw; `shoot_gradient` only allocates its returned 3-vector.
    forward_bytes(p) = (Trebuchet.launch(p...); @allocated Trebuchet.launch(p...))
    gradient_bytes(p) = (Trebuchet.launch_gradient(p...); @allocated Trebuchet.launch_gradient(p...))
    for p in ((-2.0, 45.0, 200.0), (3.0, 40.0, 180.0), (0.0, 45.0, 8.0), (0.0, 45.0, 15.38), (-5.0, 70.0, 3000.0))
        @test forward_bytes(p) < 1024
        @test gradient_bytes(p) < 1024
        @inferred Trebuchet.launch(p...)
        @inferred Trebuchet.launch_gradient(p...)
    end
    @inferred Trebuchet.shoot(-2.0, 45.0, 200.0)
    @inferred Trebuchet.shoot_gradient(-2.0, 45.0, 200.0)
    @inferred Trebuchet.launch(-2, 45, 200)  # integers promote to Float64
    # One pass of duals gives the same distance as the plain throw, to the bit.
    @test Trebuchet.shoot_gradient(-2.0, 45.0, 200.0)[1] === Trebuchet.shoot(-2.0, 45.0, 200.0)
end

@testset "trebuchet: what a throw that does not land reports" begin
    light = Trebuchet.launch(0.0, 45.0, 8.0)
    @test light.status == Trebuchet.TOO_LIGHT && isfinite(light.distance) && isnan(light.liftoff_time)
    never = Trebuchet.launch(0.0, 45.0, 15.38)
    @test never.status == Trebuchet.NO_LANDING && isnan(never.distance) && isnan(never.landing_time)
    values, gradient = Trebuchet.launch_gradient(0.0, 45.0, 15.38)
    @test isnan(values.distance) && all(isnan, gradient)
end

@testset "batched: the same rows as one at a time" begin
    points = [-2.0 45.0 200.0; 3.0 40.0 180.0; 0.0 45.0 8.0; 0.0 45.0 15.38]
    distance, status, liftoff, release, landing, speed = DPRL.Batched.launch(points)
    d, s, g = DPRL.Batched.launch_gradient(points)
    for i in axes(points, 1)
        one = Trebuchet.launch(points[i, :]...)
        @test isequal((distance[i], status[i], liftoff[i], release[i], landing[i], speed[i]), Tuple(one))
        values, gradient = Trebuchet.launch_gradient(points[i, :]...)
        @test isequal(d[i], one.distance) && s[i] == one.status && isequal(Tuple(g[i, :]), gradient)
    end
    @test_throws ArgumentError DPRL.Batched.launch([0.0 95.0 200.0])
    states, actions = [0.01 -0.02 0.03 0.04; 0.0 0.0 0.3 0.0], [1.0, -1.0]
    next, rewards, dones = DPRL.Batched.cartpole_step(states, actions)
    @test next[1, :] == CartPole.step(CartPole.CartPoleParams(), states[1, :], 1.0)[1] && dones == [false, true]
    next, rewards, _ = DPRL.Batched.pendulum_step([0.5 1.0], [5.0]; variant = "gymjl2019")
    @test (next[1, :], rewards[1]) == Pendulum.step([0.5, 1.0], 5.0; variant = "gymjl2019")[1:2]
end
