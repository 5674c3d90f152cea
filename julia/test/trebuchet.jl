# DPRL.Trebuchet (julia/src/trebuchet.jl); included by runtests.jl.

"""Central differences of a scalar function of a vector."""
function central_difference(f, x, steps)
    return [(f(x .+ steps[i] .* (1:length(x) .== i)) - f(x .- steps[i] .* (1:length(x) .== i))) / (2 * steps[i]) for i in eachindex(x)]
end

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

@testset "trebuchet: the aiming task" begin
    # The shot distribution: seeded, of its ranges, and the evaluation set fixed.
    winds, targets = Trebuchet.shots(Xoshiro(3), 2000)
    @test length(winds) == length(targets) == 2000
    @test all(t -> Trebuchet.TARGET_RANGE[1] <= t <= Trebuchet.TARGET_RANGE[2], targets)
    @test abs(sum(winds) / 2000) < 0.5 && 4.5 < sqrt(sum(abs2, winds) / 2000) < 5.5  # N(0, 5²): 4 standard errors
    @test Trebuchet.evaluation_shots(7) == Trebuchet.shots(Xoshiro(Trebuchet.EVALUATION_SEED), 7)
    @test Trebuchet.evaluation_shots(7) != Trebuchet.shots(Xoshiro(3), 7)

    @test Trebuchet.valid_aim(45.0, 200.0)
    @test !Trebuchet.valid_aim(45.0, Trebuchet.MIN_WEIGHT_LB) && Trebuchet.valid_aim(45.0, nextfloat(Trebuchet.MIN_WEIGHT_LB))
    @test !Trebuchet.valid_aim(0.0, 200.0) && !Trebuchet.valid_aim(90.0, 200.0) && !Trebuchet.valid_aim(NaN, 200.0)

    # Four throws against `launch`: two that land, two invalid aims (a counterweight under
    # MIN_WEIGHT_LB, whose throw would never land, and an angle out of range).
    winds, targets = [-2.0, 3.0, 0.0, 1.0], [70.0, 60.0, 50.0, 40.0]
    angles, weights = [45.0, 40.0, 45.0, 95.0], [200.0, 180.0, 15.38, 200.0]
    miss, landed = Trebuchet.throw_misses(winds, targets, angles, weights)
    @test landed == [true, true, false, false]
    @test miss[1] == abs(Trebuchet.launch(-2.0, 45.0, 200.0).distance - 70.0)
    @test miss[2] == abs(Trebuchet.launch(3.0, 40.0, 180.0).distance - 60.0)
    @test Trebuchet.launch(0.0, 45.0, 15.38).status != Trebuchet.LANDED && miss[3] == 50.0 && miss[4] == 40.0
    metrics = Trebuchet.miss_metrics(miss, landed, targets)
    relative = 100 .* miss ./ targets
    @test metrics["mean_abs_miss_m"] ≈ sum(miss) / 4 && metrics["mean_rel_miss_pct"] ≈ sum(relative) / 4
    @test metrics["failed_throws"] === 2
    # The linear (type 7) quantile: 95 % of the way along the 3 gaps between the 4 sorted values.
    sorted = sort(relative)
    @test metrics["p95_rel_miss_pct"] ≈ sorted[3] + 0.85 * (sorted[4] - sorted[3])
    @test_throws ArgumentError Trebuchet.throw_misses(winds, targets, angles, weights[1:3])
end
