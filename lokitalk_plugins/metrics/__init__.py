"""Metrics: PSNR, SSIM, LPIPS, landmark distances, studio mouth/eye/lip-sync measurements."""
