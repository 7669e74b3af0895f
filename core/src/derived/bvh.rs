//! Spatial queries on the scan: a bounding-volume hierarchy (parry3d's) for ray casts and
//! closest points. Positions are converted to parry's glam vectors once, at build time.

use parry3d::math::Vector;
use parry3d::query::{PointQuery, Ray, RayCast};
use parry3d::shape::TriMesh;

/// A ray hit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RayHit {
    /// Distance along the (unit) ray direction, mm.
    pub distance: f32,
    /// Triangle hit.
    pub triangle: u32,
    /// Hit point.
    pub point: [f32; 3],
    /// Unit normal of the triangle hit (as wound).
    pub normal: [f32; 3],
}

/// The closest point of the surface to a query point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClosestPoint {
    /// The point on the surface.
    pub point: [f32; 3],
    /// The triangle it lies on.
    pub triangle: u32,
    /// Distance from the query point, mm.
    pub distance: f32,
}

/// The scan's BVH. Queries take `&self` and may run on many threads at once.
pub struct Bvh {
    mesh: Option<TriMesh>,
}

fn vec(p: &[f32; 3]) -> Vector {
    Vector::new(p[0], p[1], p[2])
}

fn arr(v: Vector) -> [f32; 3] {
    [v.x, v.y, v.z]
}

impl Bvh {
    /// Builds the BVH over the scan's triangles.
    pub fn build(positions: &[[f32; 3]], triangles: &[[u32; 3]]) -> Self {
        let vertices = positions.iter().map(vec).collect();
        Self {
            mesh: TriMesh::new(vertices, triangles.to_vec()).ok(),
        }
    }

    /// The first surface hit by a ray from `origin` along `direction` within `max_distance`.
    /// The direction is normalised; a zero direction hits nothing.
    pub fn cast_ray(
        &self,
        origin: [f32; 3],
        direction: [f32; 3],
        max_distance: f32,
    ) -> Option<RayHit> {
        let mesh = self.mesh.as_ref()?;
        let dir = vec(&direction).try_normalize()?;
        let ray = Ray::new(vec(&origin), dir);
        let hit = mesh.cast_local_ray_and_get_normal(&ray, max_distance, false)?;
        Some(RayHit {
            distance: hit.time_of_impact,
            triangle: hit.subshape,
            point: arr(ray.point_at(hit.time_of_impact)),
            normal: arr(hit.normal),
        })
    }

    /// The closest surface point to `point`, if one lies within `max_distance`.
    pub fn closest_point(&self, point: [f32; 3], max_distance: f32) -> Option<ClosestPoint> {
        let mesh = self.mesh.as_ref()?;
        let q = vec(&point);
        let proj = mesh.project_local_point_with_max_dist(q, false, max_distance)?;
        Some(ClosestPoint {
            point: arr(proj.point),
            triangle: proj.subshape,
            distance: (proj.point - q).length(),
        })
    }
}
