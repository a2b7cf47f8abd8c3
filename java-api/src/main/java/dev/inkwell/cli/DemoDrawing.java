package dev.inkwell.cli;

import dev.inkwell.Image;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.GradientPaint;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.geom.CubicCurve2D;
import java.awt.geom.Ellipse2D;
import java.awt.geom.Path2D;
import java.awt.image.BufferedImage;
import java.util.Random;

/**
 * A deterministic colored drawing (landscape with a house, a tree and pen strokes) that
 * the demo turns into a control map, so the main job needs no input file. Shapes only:
 * headless JDKs may lack fonts.
 */
public final class DemoDrawing {
    private DemoDrawing() {}

    public static Image draw(int width, int height) {
        BufferedImage canvas = new BufferedImage(width, height, BufferedImage.TYPE_3BYTE_BGR);
        Graphics2D g = canvas.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            g.scale(width / 1000.0, height / 600.0); // draw in a 1000 x 600 frame
            g.setPaint(new GradientPaint(0, 0, new Color(120, 170, 235), 0, 380, new Color(235, 225, 200)));
            g.fillRect(0, 0, 1000, 600);
            g.setColor(new Color(250, 205, 80));
            g.fill(new Ellipse2D.Double(760, 60, 110, 110));
            g.setColor(new Color(105, 125, 150));
            g.fill(polygon(0, 380, 180, 190, 330, 330, 470, 150, 660, 380));
            g.setColor(new Color(85, 150, 85));
            g.fillRect(0, 380, 1000, 220);
            // house
            g.setColor(new Color(200, 80, 60));
            g.fillRect(560, 330, 200, 150);
            g.setColor(new Color(120, 50, 40));
            g.fill(polygon(540, 330, 660, 240, 780, 330));
            g.setColor(new Color(240, 230, 170));
            g.fillRect(590, 370, 50, 45);
            g.fillRect(680, 370, 50, 45);
            g.setColor(new Color(90, 60, 40));
            g.fillRect(640, 410, 40, 70);
            // tree
            g.setColor(new Color(100, 70, 40));
            g.fillRect(230, 360, 30, 140);
            g.setColor(new Color(50, 120, 60));
            for (int[] c : new int[][] {{245, 330, 80}, {200, 360, 60}, {290, 360, 60}, {245, 290, 55}}) {
                g.fill(new Ellipse2D.Double(c[0] - c[2], c[1] - c[2], 2 * c[2], 2 * c[2]));
            }
            // pen strokes, as a user's line art would have
            g.setColor(new Color(30, 30, 40));
            g.setStroke(new BasicStroke(4f, BasicStroke.CAP_ROUND, BasicStroke.JOIN_ROUND));
            Random random = new Random(2026);
            for (int i = 0; i < 12; i++) {
                double x = 40 + random.nextDouble() * 900, y = 430 + random.nextDouble() * 140;
                g.draw(new CubicCurve2D.Double(x, y, x + 40, y - 30, x + 80, y + 30, x + 120 + random.nextDouble() * 40, y));
            }
            g.setStroke(new BasicStroke(2.5f));
            g.draw(new Ellipse2D.Double(380, 80, 160, 60));
        } finally {
            g.dispose();
        }
        byte[] rgb = new byte[width * height * 3];
        int[] argb = new int[width];
        for (int y = 0; y < height; y++) {
            canvas.getRGB(0, y, width, 1, argb, 0, width);
            for (int x = 0; x < width; x++) {
                int o = (y * width + x) * 3;
                rgb[o] = (byte) (argb[x] >>> 16);
                rgb[o + 1] = (byte) (argb[x] >>> 8);
                rgb[o + 2] = (byte) argb[x];
            }
        }
        return Image.fromBytes(rgb, height, width, 3);
    }

    private static Path2D polygon(double... xy) {
        Path2D p = new Path2D.Double();
        p.moveTo(xy[0], xy[1]);
        for (int i = 2; i < xy.length; i += 2) {
            p.lineTo(xy[i], xy[i + 1]);
        }
        p.closePath();
        return p;
    }
}
