"""One throw step by step, for plots and animation (`dprl.plots.throw_animation`).

Built on the simulator's `integrate` with `on_step`: every Euler step of each phase of
`dprl.envs.trebuchet`, then the event state, recorded as positions of the arm tip, the
counterweight and the projectile. PyTorch only (no Julia twin); nothing here is differentiated.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from dprl.envs.trebuchet import (
    DT,
    LANDED,
    LONG_ARM,
    PIVOT_HEIGHT,
    POUND,
    SHORT_ARM,
    WEIGHT_ARM,
    Throw,
    _as_tensors,
    below_ground_and_falling,
    event,
    flight_derivative,
    ground_derivative,
    hang_derivative,
    initial_state,
    integrate,
    landing_condition,
    launch,
    liftoff_condition,
    release_condition,
    sling_end_position,
    sling_end_velocity,
    too_light,
)


@dataclass
class Trajectory:
    """One throw, step by step (for plots and animation). Positions in metres, pivot at origin."""

    time: list  # s
    phase: list  # 1 ground, 2 hang, 3 flight
    arm_tip: list  # (x, y) of the long arm's end
    weight: list  # (x, y) of the counterweight's centre of gravity
    projectile: list  # (x, y)
    result: Throw


def simulate(wind: float, angle_deg: float, weight_lb: float) -> Trajectory:
    """The trajectory of one throw: every Euler step of each phase, then the event state."""
    with torch.no_grad():
        result = launch(wind, angle_deg, weight_lb)
        wind_t, angle_t, weight_t = _as_tensors(wind, angle_deg, weight_lb)
        params = {"weight": weight_t.reshape(1) * POUND, "release_angle": torch.deg2rad(angle_t.reshape(1)), "wind": wind_t.reshape(1)}
        track = Trajectory([], [], [], [], [], result)
        offsets = [0.0]

        def record_sling(phase):
            def on_step(u):
                q_a, q_w, q_s = u[0, 0], u[1, 0], u[2, 0]
                track.time.append(offsets[-1] + DT * (len([p for p in track.phase if p == phase]) + 1))
                track.phase.append(phase)
                track.arm_tip.append((float(-LONG_ARM * torch.sin(q_a)), float(LONG_ARM * torch.cos(q_a))))
                track.weight.append((float(SHORT_ARM * torch.sin(q_a) + WEIGHT_ARM * torch.sin(q_a + q_w)),
                                     float(-SHORT_ARM * torch.cos(q_a) - WEIGHT_ARM * torch.cos(q_a + q_w))))
                x, y = sling_end_position(q_a, q_s)
                track.projectile.append((float(x), float(y)))
            return on_step

        ground = integrate(lambda u, p: ground_derivative(u, p["weight"]), liftoff_condition, initial_state(batch_shape=(1,)),
                           params, too_light, on_step=record_sling(1))
        if not bool(ground.found[0]):
            return track
        u_liftoff, t_ground = event(lambda u, p: ground_derivative(u, p["weight"]), liftoff_condition, ground, params)
        offsets.append(float(t_ground[0]))
        hang = integrate(lambda u, p: hang_derivative(u, p["weight"]), release_condition, u_liftoff, params, on_step=record_sling(2))
        if not bool(hang.found[0]):
            return track
        u_release, t_hang = event(lambda u, p: hang_derivative(u, p["weight"]), release_condition, hang, params)
        record_sling(2)(u_release)
        arm_tip, weight_at_release = track.arm_tip[-1], track.weight[-1]
        offsets.append(offsets[-1] + float(t_hang[0]))
        q_a, _, q_s, w_a, _, w_s = u_release.unbind(0)
        start = torch.stack((*sling_end_position(q_a, q_s), *sling_end_velocity(q_a, q_s, w_a, w_s)))

        def on_flight(u):
            track.time.append(offsets[-1] + DT * (len([p for p in track.phase if p == 3]) + 1))
            track.phase.append(3)
            track.arm_tip.append(arm_tip)
            track.weight.append(weight_at_release)
            track.projectile.append((float(u[0, 0]), float(u[1, 0])))

        integrate(lambda u, p: flight_derivative(u, p["wind"]), landing_condition, start, params, below_ground_and_falling,
                  on_step=on_flight)
        if bool(result.status == LANDED):
            track.time[-1] = float(result.landing_time)
            track.projectile[-1] = (float(result.distance), -PIVOT_HEIGHT)
        return track
