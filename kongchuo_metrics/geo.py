"""Coordinates: GCJ-02 -> WGS-84 conversion and plausibility checks (vectorised)."""

from __future__ import annotations

import numpy as np
import pandas as pd

_A = 6378245.0
_EE = 0.00669342162296594323

# mainland China, generously
CHINA_BOX = (73.0, 18.0, 135.5, 54.0)
DISTRICT_RADIUS_DEG = 1.0


def _delta(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x, y = lon - 105.0, lat - 35.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    dlat += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    dlat += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    dlat += (160.0 * np.sin(y / 12.0 * np.pi) + 320 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    dlon += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    dlon += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    dlon += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    radlat = lat / 180.0 * np.pi
    magic = 1 - _EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrtmagic) * np.pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * np.cos(radlat) * np.pi)
    return dlon, dlat


def wgs84_to_gcj02(lon: pd.Series, lat: pd.Series) -> tuple[pd.Series, pd.Series]:
    """GCJ-02 ("Mars") coordinates of WGS-84 points (the forward transform used by Gaode/Tencent)."""
    lo, la = lon.to_numpy(dtype=float), lat.to_numpy(dtype=float)
    dlon, dlat = _delta(lo, la)
    return pd.Series(lo + dlon, index=lon.index), pd.Series(la + dlat, index=lat.index)


def gcj02_to_wgs84(lon: pd.Series, lat: pd.Series) -> tuple[pd.Series, pd.Series]:
    """WGS-84 coordinates of GCJ-02 points, by fixed-point iteration (error well under 1 m)."""
    glon, glat = lon.to_numpy(dtype=float), lat.to_numpy(dtype=float)
    wlon, wlat = glon.copy(), glat.copy()
    for _ in range(6):  # iterations of the inverse, not a loop over points
        dlon, dlat = _delta(wlon, wlat)
        wlon, wlat = glon - dlon, glat - dlat
    return pd.Series(wlon, index=lon.index), pd.Series(wlat, index=lat.index)


def in_plausible_box(lon: pd.Series, lat: pd.Series) -> pd.Series:
    """True where a point lies in China and within DISTRICT_RADIUS_DEG of the median of all points."""
    lo0, la0, lo1, la1 = CHINA_BOX
    china = lon.between(lo0, lo1) & lat.between(la0, la1)
    if not china.any():
        return china
    mlon, mlat = lon[china].median(), lat[china].median()
    near = ((lon - mlon).abs() <= DISTRICT_RADIUS_DEG) & ((lat - mlat).abs() <= DISTRICT_RADIUS_DEG)
    return (china & near).fillna(False).astype(bool)
